"""Debian's Prometheus and Alertmanager, started on 127.0.0.1 for one test and stopped after it.

The programs come from the packages ``prometheus`` and ``prometheus-alertmanager``
(``scripts/setup-system.sh`` installs them, and ``make test`` runs it). A missing program fails
the test with the reason: these tests are never skipped.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.integration.workers import free_port

CONFIG = Path(__file__).resolve().parents[2] / "config"


def program(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(
        f"none of {names} is installed: apt-get install prometheus prometheus-alertmanager "
        "(scripts/setup-system.sh does this; make test runs it)"
    )


class Program:
    """A server process with a log file and an HTTP base URL."""

    def __init__(self, args: list[str], url: str, log: Path) -> None:
        self.url = url
        self.log = log
        self.handle = log.open("w")
        self.process = subprocess.Popen(args, stdout=self.handle, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.log.name} exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(
            f"{self.url} not ready after {timeout} s: {self.log.read_text()[-3000:]}"
        )

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.handle.close()


def prometheus_config(targets: list[str], alertmanagers: list[str] | None = None) -> dict[str, Any]:
    """``config/prometheus.yml`` as shipped, pointed at local targets and made fast.

    Job names and rule files stay the same (the rules select ``job="tutka-worker"``); only the
    addresses and the intervals change: 1 s instead of 15 s, so a test sees rules evaluate.
    """
    config = yaml.safe_load((CONFIG / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(CONFIG / pattern) for pattern in config["rule_files"]]
    jobs = [job for job in config["scrape_configs"] if job["job_name"] == "tutka-worker"]
    assert jobs, "config/prometheus.yml must scrape the job tutka-worker"
    jobs[0]["static_configs"] = [{"targets": targets}]
    config["scrape_configs"] = jobs
    if alertmanagers:
        config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": alertmanagers}]}]
    else:
        del config["alerting"]
    return config


def start_prometheus(config: dict[str, Any], workdir: Path) -> Program:
    return _start(config, workdir, "prometheus", [
        program("prometheus"),
        f"--storage.tsdb.path={workdir / 'data'}",
    ])  # fmt: skip


def alertmanager_config(receiver_url: str) -> dict[str, Any]:
    """``config/alertmanager.yml`` as shipped, its receivers pointed at ``receiver_url/<name>``.

    The routing tree, matchers and inhibition rules are untouched; the waits are cut to a second
    (the shipped ones suit monthly data, not a test).
    """
    config = yaml.safe_load((CONFIG / "alertmanager.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"{receiver_url}/{receiver['name']}"

    def fast(route: dict[str, Any]) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = "1s"
        for child in route.get("routes", []):
            fast(child)

    fast(config["route"])
    return config


def start_alertmanager(config: dict[str, Any], workdir: Path, port: int | None = None) -> Program:
    return _start(config, workdir, "alertmanager", [
        program("prometheus-alertmanager", "alertmanager"),
        f"--storage.path={workdir / 'data'}",
        "--cluster.listen-address=",  # a single instance: no gossip port on 0.0.0.0
    ], port)  # fmt: skip


def _start(
    config: dict[str, Any], workdir: Path, name: str, args: list[str], port: int | None = None
) -> Program:
    """Write ``config`` to ``workdir`` and start the program on ``port`` (default: a free one)
    of 127.0.0.1."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{name}.yml"
    path.write_text(yaml.safe_dump(config))
    port = port if port is not None else free_port()
    args = [*args, f"--config.file={path}", f"--web.listen-address=127.0.0.1:{port}"]
    return Program(args, f"http://127.0.0.1:{port}", workdir / f"{name}.log")


def wait_for(check: Callable[[], Any], timeout: float, what: str, poll: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")
