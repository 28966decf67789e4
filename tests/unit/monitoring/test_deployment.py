"""docker-compose.yml, the Prometheus, Alertmanager and Grafana files: valid and consistent.

Compose cannot run here (no Docker engine), so the file is parsed by a strict Compose-spec parser
and checked against everything it must agree with: the worker's settings, Prometheus' scrape
targets, the Grafana datasource, the README. Every metric a rule or a panel queries must be one
the code defines. (``promtool`` and ``amtool`` check the files in the integration tests.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from compose_spec import PyCompose
from faust.sensors.prometheus import FaustMetrics
from prometheus_client import CollectorRegistry

from tutka.config.settings import Settings
from tutka.monitoring.metrics import create_fetch_metrics, create_metrics
from tutka.room.service import RoomMetrics

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "config"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
WORKERS = sorted(name for name in SERVICES if name.startswith("worker-"))


def test_the_compose_file_is_valid_compose() -> None:
    parsed = PyCompose.from_yaml((ROOT / "docker-compose.yml").read_text())
    assert set(parsed.service_names()) == set(SERVICES)


def test_the_stack_has_every_service_the_issue_asks_for() -> None:
    assert {"kafka", "prometheus", "alertmanager", "grafana", "producer"} <= set(SERVICES)
    assert len(WORKERS) == 2


def test_every_published_port_is_on_loopback_and_unique() -> None:
    published = [port for service in SERVICES.values() for port in service.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published)
    host_ports = [port.split(":")[1] for port in published]
    assert len(host_ports) == len(set(host_ports))


def test_every_mounted_file_exists_in_the_repository() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"


@pytest.mark.parametrize("worker", WORKERS)
def test_the_worker_environment_is_valid_settings_that_match_prometheus_and_kafka(
    worker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = SERVICES[worker]["environment"]
    for key, value in env.items():
        assert key.startswith("TUTKA_"), key
        monkeypatch.setenv(key, re.sub(r"\$\{[^}]*\}", "", str(value)))
    settings = Settings()
    assert settings.metrics.host == "0.0.0.0", "a container must accept scrapes from outside"
    prometheus = yaml.safe_load((CONFIG / "prometheus.yml").read_text())
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "tutka-worker")
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    assert f"{SERVICES[worker]['hostname']}:{settings.metrics.port}" in targets
    assert [urlparse(str(u)).netloc for u in settings.alertmanager.urls] == ["alertmanager:9093"]
    advertised = SERVICES["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"//{settings.kafka.bootstrap}" in advertised


def test_prometheus_scrapes_exactly_the_workers_of_the_stack() -> None:
    prometheus = yaml.safe_load((CONFIG / "prometheus.yml").read_text())
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "tutka-worker")
    hosts = {t.split(":")[0] for group in job["static_configs"] for t in group["targets"]}
    assert hosts == {SERVICES[w]["hostname"] for w in WORKERS}


def test_grafana_is_provisioned_with_the_stack_and_the_dashboard_uses_that_datasource() -> None:
    datasources = yaml.safe_load(
        (CONFIG / "grafana/provisioning/datasources/muutostutka.yml").read_text()
    )["datasources"]
    prometheus = next(d for d in datasources if d["type"] == "prometheus")
    assert prometheus["url"] == "http://prometheus:9090"
    dashboards = yaml.safe_load(
        (CONFIG / "grafana/provisioning/dashboards/muutostutka.yml").read_text()
    )["providers"]
    mounted = {v.split(":")[1] for v in SERVICES["grafana"]["volumes"] if v.startswith(".")}
    assert dashboards[0]["options"]["path"] in mounted
    alertmanager = next(d for d in datasources if d["type"] == "alertmanager")
    dashboard = json.loads((CONFIG / "grafana/dashboards/muutostutka.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        expected = alertmanager if panel["type"] == "alertlist" else prometheus
        assert panel["datasource"]["uid"] == expected["uid"], panel["title"]
    # Monthly data: a two-year window, variables, a freshness row and the firing alerts.
    assert dashboard["time"]["from"] == "now-2y"
    assert {v["name"] for v in dashboard["templating"]["list"]} >= {"ely", "polarity"}
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert titles[0].startswith("Freshness") and "Firing alerts (Alertmanager)" in titles
    stats = [p for p in dashboard["panels"] if p["type"] == "stat"]
    assert all(p["fieldConfig"]["defaults"].get("color") for p in stats)


def known_metric_names() -> set[str]:
    registry = CollectorRegistry()
    create_metrics(registry)
    create_fetch_metrics(registry, ["12r5"])
    FaustMetrics.create(registry, "tutka_faust")
    RoomMetrics(registry)
    names = set()
    for family in registry.collect():
        for suffix in ("", "_total", "_bucket", "_count", "_sum", "_info"):
            names.add(family.name + suffix)
    return names


def queried_expressions() -> dict[str, str]:
    rules = yaml.safe_load((CONFIG / "rules/tutka.yml").read_text())
    out = {r.get("alert") or r["record"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    dashboard = json.loads((CONFIG / "grafana/dashboards/muutostutka.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            out[f"{panel['title']} {target['refId']}"] = target["expr"]
    return out


def test_every_metric_a_rule_or_a_panel_queries_is_defined_by_the_code() -> None:
    known = known_metric_names()
    rules = yaml.safe_load((CONFIG / "rules/tutka.yml").read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    expressions = queried_expressions()
    assert len(expressions) > 20
    for where, expr in expressions.items():
        for name in re.findall(r"\btutka[_:][a-z0-9_:]+", expr):
            assert name in known or name in recorded, f"{where}: {name} is not a metric we expose"


def test_the_fetcher_is_a_service_whose_settings_command_and_metrics_port_agree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = SERVICES["fetch"]
    assert service["profiles"] == ["live"]  # never mixed with the synthetic producer by default
    for key, value in service["environment"].items():
        assert key.startswith("TUTKA_"), key
        monkeypatch.setenv(key, str(value))
    settings = Settings()
    assert settings.metrics.host == "0.0.0.0"
    prometheus = yaml.safe_load((CONFIG / "prometheus.yml").read_text())
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "tutka-fetch")
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    assert targets == {f"{service['hostname']}:{settings.fetch.metrics_port}"}
    assert f"127.0.0.1:{settings.fetch.metrics_port}:" in " ".join(service["ports"])
    mounted = {v.split(":")[1] for v in service["volumes"]}
    assert str(settings.fetch.state_dir) in mounted, "the fetch state must outlive the container"
    from click.testing import CliRunner

    from tutka.cli import cli

    command = service["command"]
    assert command[:2] == ["fetch", "statfin"] and "--every" in command
    parsed = CliRunner().invoke(cli, [*command[:2], "--help"])
    assert parsed.exit_code == 0 and all(
        option in parsed.output for option in command[2:] if option.startswith("--")
    )


def test_the_dashboard_shows_source_freshness_and_a_rule_warns_of_a_stale_source() -> None:
    expressions = queried_expressions()
    assert any("tutka_fetch_newest_period_age_seconds" in e for e in expressions.values())
    assert "TutkaSourceStale" in expressions and "TutkaFetchFailing" in expressions


def test_the_grafana_table_covers_the_per_ely_picture() -> None:
    expressions = queried_expressions().values()
    assert any("tutka:picture_open_alerts:max" in e for e in expressions)
    assert any("tutka:picture_max_severity:max" in e for e in expressions)


def test_the_readme_tells_how_to_start_the_stack_and_where_it_listens() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docker compose up" in readme
    for service, port in (("grafana", "3000"), ("prometheus", "9090"), ("alertmanager", "9093")):
        assert f"127.0.0.1:{port}:" in " ".join(SERVICES[service]["ports"])
        assert f"localhost:{port}" in readme, f"README should point at {service} on {port}"


def test_the_image_holds_every_package_and_the_rooms_assets() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.split(".", 1)[0].rstrip("*") for p in included}  # tutka, tutka.* -> tutka
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, package
    assert "room/static/*" in project["tool"]["setuptools"]["package-data"]["tutka"]
    assert "8080" in dockerfile  # the situation room
