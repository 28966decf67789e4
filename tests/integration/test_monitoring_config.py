"""The shipped monitoring files, checked by the tools of the real programs."""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.programs import CONFIG, program


def run(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=CONFIG)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def test_promtool_accepts_the_prometheus_config_and_its_rules() -> None:
    out = run(program("promtool"), "check", "config", "prometheus.yml")
    assert "rule files found" in out.stdout + out.stderr


def test_promtool_accepts_the_rules() -> None:
    rules = sorted(str(p.relative_to(CONFIG)) for p in (CONFIG / "rules").glob("*.yml"))
    assert rules
    run(program("promtool"), "check", "rules", *rules)


def test_the_rules_pass_their_promtool_unit_tests() -> None:
    tests = sorted(str(p.relative_to(CONFIG)) for p in (CONFIG / "rules/tests").glob("*.yml"))
    assert tests
    out = run(program("promtool"), "test", "rules", *tests)
    assert "SUCCESS" in out.stdout


def test_amtool_accepts_the_alertmanager_config() -> None:
    run(program("amtool"), "check-config", "alertmanager.yml")


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["ely=ELY15", "severity=critical", "polarity=negative"], "ely-lappi-duty,ely-lappi"),
        (["ely=ELY15", "severity=watch", "polarity=negative"], "ely-lappi"),
        (["ely=SSS", "severity=warning"], "national-desk"),
        (["ely=ELY07", "severity=critical"], "ely-shared"),
    ],
)
def test_the_routing_tree_sends_structural_change_where_the_ely_centres_expect(
    labels: list[str], receivers: str
) -> None:
    out = run(program("amtool"), "config", "routes", "test", "--config.file=alertmanager.yml",
              "alertname=MuutostutkaStructuralChange", *labels)  # fmt: skip
    assert out.stdout.strip() == receivers


def test_health_alerts_go_to_the_operators() -> None:
    out = run(program("amtool"), "config", "routes", "test", "--config.file=alertmanager.yml",
              "alertname=TutkaWorkerDown", "instance=worker-1:9480")  # fmt: skip
    assert out.stdout.strip() == "operations"
