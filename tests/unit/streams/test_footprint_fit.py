"""Footprint share and lag from data: recovered on a seeded panel, honest where it cannot be."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tutka.cli import cli
from tutka.config.catalogue import FootprintRules, load_catalogue
from tutka.models.codes import period_str
from tutka.models.events import LayoffNoticeFiled, NoticeKind, UnemploymentReported
from tutka.streams.footprint_fit import _stock, fit_footprints, snippet, table

RULES = load_catalogue().footprint
START = 2010 * 12
MONTHS = 108
AREAS = [f"KU{a:03d}" for a in range(1, 13)]
#: The truth the panel is drawn from: (share, lag) per kind.
TRUTH = {NoticeKind.DISMISSAL: (0.5, 2), NoticeKind.CLOSURE: (0.8, 0)}


def _panel(
    seed: int = 1, temporary: int = 3
) -> tuple[list[LayoffNoticeFiled], list[UnemploymentReported]]:
    """Notices at random, figures = level x season x national cycle + the true footprints."""
    rng = np.random.default_rng(seed)
    notices = []
    for a, area in enumerate(AREAS):
        for m in range(MONTHS):
            for kind, chance in ((NoticeKind.DISMISSAL, 0.35), (NoticeKind.CLOSURE, 0.12)):
                if rng.random() < chance:
                    day = date((START + m) // 12, (START + m) % 12 + 1, 1)
                    notices.append(LayoffNoticeFiled(
                        notice_id=f"{kind.value}-{a}-{m}", employer="Tehdas Oy",
                        business_id="0112038-9", municipality=area, sector="17", kind=kind,
                        persons=int(rng.integers(10, 300)), announced=day, effective_from=day,
                    ))  # fmt: skip
    for i in range(temporary):  # too few to estimate, in one area
        day = date(2012, 3, 1 + i)
        notices.append(LayoffNoticeFiled(
            notice_id=f"t-{i}", employer="Tehdas Oy", business_id="0112038-9",
            municipality=AREAS[0], sector="17", kind="temporary_layoff", persons=100,
            announced=day, effective_from=day,
        ))  # fmt: skip
    lag = max(lag for _, lag in TRUTH.values())
    stock = _stock(notices, RULES.kinds, AREAS, START - lag, MONTHS + lag, RULES.horizon)
    cycle = 1 + 0.1 * np.sin(np.arange(MONTHS) / 9)
    figures = []
    for a, area in enumerate(AREAS):
        level = 2000 + 400 * a
        for t in range(MONTHS):
            season = 1 + 0.1 * np.cos(2 * np.pi * t / 12)
            value = level * season * cycle[t] + rng.normal(0, 15)
            for kind, (share, kind_lag) in TRUTH.items():
                value += share * stock[kind][a, t + lag - kind_lag]
            figures.append(UnemploymentReported(
                area=area, measure="unemployed_jobseekers", period=period_str(START + t),
                published=date(2020, 1, 1), value=round(value),
            ))  # fmt: skip
    return notices, figures


def test_the_true_shares_and_lags_are_recovered_within_their_intervals() -> None:
    notices, figures = _panel()
    fit = fit_footprints(notices, figures, RULES, draws=100)
    by_kind = {k.kind: k for k in fit.kinds}
    for kind, (share, lag) in TRUTH.items():
        est = by_kind[kind]
        assert est.estimable and est.lag == lag
        assert est.share is not None and est.share == pytest.approx(share, abs=0.1)
        assert est.share_low is not None and est.share_high is not None
        assert est.share_low <= share <= est.share_high  # the truth within the 90 % interval
        assert est.share_high - est.share_low < 0.4
    temporary = by_kind[NoticeKind.TEMPORARY_LAYOFF]
    assert not temporary.estimable and temporary.notices == 3 and temporary.areas == 1
    assert temporary.not_estimable == "3 notices in 1 areas; needs 50 in 5"
    assert fit.areas == len(AREAS) and fit.r2 > 0.5
    assert "not estimable: 3 notices in 1 areas" in table(fit)


def test_the_snippet_is_a_catalogue_section_that_keeps_every_kind() -> None:
    notices, figures = _panel()
    fit = fit_footprints(notices, figures, RULES, draws=20)
    text = snippet(fit, RULES)
    rules = FootprintRules.model_validate(tomllib.loads(text)["footprint"])
    assert set(rules.kinds) == set(RULES.kinds)
    assert rules.kinds[NoticeKind.DISMISSAL].lag == 2
    assert rules.kinds[NoticeKind.DISMISSAL].share == pytest.approx(0.5, abs=0.1)
    assert rules.kinds[NoticeKind.TEMPORARY_LAYOFF] == RULES.kinds[NoticeKind.TEMPORARY_LAYOFF]
    assert "not estimable (3 notices in 1 areas; needs 50 in 5); default kept" in text


def test_without_a_footprint_in_the_figures_the_share_is_near_zero_and_not_written() -> None:
    notices, figures = _panel()
    flat = [f.model_copy(update={"value": 2000.0}) for f in figures]
    fit = fit_footprints(notices, flat, RULES, draws=20)
    dismissal = fit.kinds[0]
    assert dismissal.share == pytest.approx(0.0, abs=1e-6)
    assert "too imprecise" in snippet(fit, RULES) or dismissal.share_low == pytest.approx(0.0)


def test_no_common_area_is_an_error_that_says_so() -> None:
    notices, figures = _panel()
    elsewhere = [f.model_copy(update={"area": "KU999"}) for f in figures]
    with pytest.raises(ValueError, match="no area has both notices and figures"):
        fit_footprints(notices, elsewhere, RULES, draws=0)


def test_the_command_reads_the_pipeline_files_and_writes_the_snippet(tmp_path: Path) -> None:
    notices, figures = _panel()
    for name, events in (("notices", notices), ("figures", figures)):
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps(e.model_dump(mode="json")) + "\n" for e in events)
        )
    out = tmp_path / "footprint.toml"
    result = CliRunner().invoke(cli, [
        "notices", "calibrate", "--notices", str(tmp_path / "notices.jsonl"),
        "--figures", str(tmp_path / "figures.jsonl"), "--draws", "20", "--out", str(out),
        "--lang", "fi", "--lang", "sv", "--lang", "en",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "arvioitavissa: dismissal, closure" in result.output
    assert "skattningsbara: dismissal, closure" in result.output
    assert "| dismissal |" in result.output and "Catalogue snippet written" in result.output
    assert tomllib.loads(out.read_text())["footprint"]["kinds"]["closure"]["lag"] == 0
