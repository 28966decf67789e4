"""Issue #14, item 8: the compose stack keeps its data, starts without hand-made settings, is
scraped whole and says when a service is unwell. Named after the failures they guard against.
(No Docker engine here: the files are read as Compose and Prometheus read them.)"""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.unit.monitoring.test_deployment import CONFIG, SERVICES

#: Where the apache/kafka image writes topics when KAFKA_LOG_DIRS is unset (not a volume).
IMAGE_DEFAULT_LOG_DIRS = "/tmp/kraft-combined-logs"


def test_kafka_volume_is_mounted_where_the_broker_writes_its_logs() -> None:
    kafka = SERVICES["kafka"]
    log_dirs = kafka["environment"].get("KAFKA_LOG_DIRS")
    assert log_dirs is not None and log_dirs != IMAGE_DEFAULT_LOG_DIRS
    mounts = {v.split(":")[1] for v in kafka["volumes"] if not v.startswith(".")}
    assert all(d in mounts for d in log_dirs.split(","))


def test_room_does_not_crash_loop_with_the_default_empty_user_list() -> None:
    room = SERVICES["room"]
    assert room["restart"] != "on-failure"
    script = room["command"][0].replace("$$", "$")

    # Run the entrypoint's decision with the default environment, `tutka` replaced by echo.
    def decide(users: str) -> str:
        result = subprocess.run(
            ["sh", "-c", f"tutka() {{ echo \"$@\"; }}; {script.replace('exec ', '')}"],
            env={"TUTKA_ROOM__USERS": users, "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return result.stdout.strip()

    default = re.sub(
        r"\$\{TUTKA_ROOM__USERS:-([^}]*)\}", r"\1", room["environment"]["TUTKA_ROOM__USERS"]
    )
    assert decide(default).endswith("--ephemeral-tokens")
    assert decide("[]").endswith("--ephemeral-tokens")
    assert not decide('[{"name": "x"}]').endswith("--ephemeral-tokens")


def test_room_metrics_are_scraped() -> None:
    prometheus = yaml.safe_load((CONFIG / "prometheus.yml").read_text())
    targets = {t for job in prometheus["scrape_configs"] for g in job["static_configs"]
               for t in g["targets"]}  # fmt: skip
    port = SERVICES["room"]["ports"][0].split(":")[-1]
    assert f"{SERVICES['room']['hostname']}:{port}" in targets


def test_every_long_running_service_has_a_health_check() -> None:
    one_shot = {name for name, s in SERVICES.items() if s.get("restart") == "no"}
    missing = sorted(n for n, s in SERVICES.items() if n not in one_shot and "healthcheck" not in s)
    assert missing == []
