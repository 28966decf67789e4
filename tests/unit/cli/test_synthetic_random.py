"""The random scenario (ground truth for backtests), the streaming writer and the bigger Finland.

The random scenario's truth is checked against the data itself: each event is compared with the
same seed's market without injections, which shares every random draw up to the first change.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import statistics
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

import tutka.synthetic
from tutka.cli import cli
from tutka.config.areas import demo_hierarchy
from tutka.evaluation.seeds import DEVELOPMENT_SEEDS, EVALUATION_SEEDS, seed_set
from tutka.models.areas import Hierarchy
from tutka.models.codes import area_level, period_index, period_str
from tutka.models.events import (
    LayoffNoticeFiled,
    NoticeKind,
    UnemploymentReported,
    VacanciesReported,
)
from tutka.synthetic import (
    MAX_MUNICIPALITIES,
    RANDOM_EVENTS,
    SyntheticDataset,
    SyntheticPlan,
    TruthEvent,
    generate,
    occupation_codes,
    plan,
    synthetic_hierarchy,
    write,
    write_plan,
)

SHIPPED = demo_hierarchy()
MEASURES = 10  # 8 unemployment measures and 2 vacancy measures per area
LEAD_IN, TAIL = 24, 12  # months kept free of events at the start and the end of the window


def shift(period: str, months: int) -> str:
    return period_str(period_index(period) + months)


def detail(event: TruthEvent, key: str) -> str:
    return str(dict(event.details)[key])


@pytest.fixture(scope="module")
def plans() -> dict[int, SyntheticPlan]:
    """The random scenario on the shipped areas for twelve development seeds (~10 s)."""
    return {seed: plan(seed=seed, scenario="random") for seed in DEVELOPMENT_SEEDS[:12]}


@pytest.fixture(scope="module")
def truths(plans: dict[int, SyntheticPlan]) -> list[TruthEvent]:
    return [event for p in plans.values() for event in p.truth]


@pytest.fixture(scope="module")
def pair() -> tuple[SyntheticDataset, SyntheticDataset]:
    """One development seed with its events and without."""
    return generate(seed=2, scenario="random"), generate(seed=2, inject=False)


def first_releases(dataset: SyntheticDataset) -> dict[tuple[str, str, str], float]:
    return {
        (e.area, e.measure.value, e.period): e.value
        for e in dataset.events
        if isinstance(e, UnemploymentReported | VacanciesReported)
        and e.occupation is None
        and e.revision == 0
    }


def places_of(event: TruthEvent) -> set[str]:
    """The municipalities an event touches, from its details."""
    details = dict(event.details)
    if event.kind == "sector_downturn":
        return set(str(details["municipalities"]).split(";"))
    if event.kind == "downturn":
        return set()
    spill = {key.removeprefix("spill_over_") for key in details if key.startswith("spill_over_")}
    return {str(details["municipality"]), *spill}


# --- the truth ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_each_seed_draws_its_number_of_events_in_the_window(
    plans: dict[int, SyntheticPlan],
) -> None:
    low, high = RANDOM_EVENTS
    for seed, p in plans.items():
        assert low <= len(p.truth) <= high, seed
        assert len({t.event_id for t in p.truth}) == len(p.truth)
        for event in p.truth:
            assert shift("2012-01", LEAD_IN) <= event.reference_month <= shift("2024-12", -TAIL)
    assert len({tuple(t.event_id for t in p.truth) for p in plans.values()}) == len(plans)


@pytest.mark.slow
def test_events_mix_kinds_polarities_confidences_and_sizes(truths: list[TruthEvent]) -> None:
    kinds = Counter(t.kind for t in truths)
    assert set(kinds) == {
        "closure", "temporary_layoff_wave", "hiring_surge", "sector_downturn", "downturn",
    }  # fmt: skip
    assert kinds["downturn"] < len(truths) / 8  # at most one nationwide shock a seed
    assert {t.polarity for t in truths} == {"negative", "positive"}
    assert all((t.polarity == "positive") == (t.kind == "hiring_surge") for t in truths)
    confidence = Counter(t.confidence for t in truths)
    # Some events are subtle on purpose, so that recall cannot be trivially complete.
    assert 0.1 < confidence["low"] / len(truths) < 0.5
    assert confidence["medium"] > 0 and confidence["high"] > 0
    sizes = Counter(detail(t, "size") for t in truths if "size" in dict(t.details))
    assert sizes["small"] > 0 and sizes["large"] > 0
    # A recovering wave is never more than medium.
    assert {t.confidence for t in truths if t.kind == "temporary_layoff_wave"} <= {"low", "medium"}


@pytest.mark.slow
def test_confidence_follows_the_strength_where_it_happens(truths: list[TruthEvent]) -> None:
    for event in truths:
        strength = float(detail(event, "strength")) if event.kind != "downturn" else 9.0
        if event.confidence == "low":
            assert strength < 1.0, event.event_id
            assert "subtle" in event.what
        else:
            assert strength >= 1.0, event.event_id
        if event.confidence == "high":
            assert strength >= 2.5


@pytest.mark.slow
def test_regions_hold_the_place_and_only_areas_above_it_or_beside_it(
    truths: list[TruthEvent],
) -> None:
    for event in truths:
        assert event.regions == tuple(sorted(event.regions, key=_broadest_first))
        if event.kind == "downturn":
            assert event.regions[0] == "SSS" and len(event.regions) > 50
            continue
        places = places_of(event)
        allowed = {a for m in places for a in (m, *SHIPPED.ancestors(m))}
        assert set(event.regions) <= allowed, event.event_id
        home = detail(event, "region" if event.kind == "sector_downturn" else "municipality")
        assert home in event.regions
        if event.kind != "sector_downturn":
            # All of the effect lies in one sub-region, and a broader area only adds level (and
            # noise): where the change shows in an area, it shows in every narrower one above home.
            shown = [a in event.regions for a in SHIPPED.ancestors(home)[:-1]]
            assert shown == sorted(shown, reverse=True), event.event_id
        assert "SSS" not in event.regions  # local events never move the country's figure


def _broadest_first(code: str) -> tuple[int, str]:
    return (("SSS", "ELY", "MK", "SK", "KU").index(area_level(code)), code)


@pytest.mark.slow
def test_events_keep_apart_in_place_and_time(plans: dict[int, SyntheticPlan]) -> None:
    for p in plans.values():
        events = list(p.truth)
        for i, a in enumerate(events):
            for b in events[i + 1 :]:
                gap = abs(period_index(a.reference_month) - period_index(b.reference_month))
                if "downturn" in (a.kind, b.kind):
                    assert gap >= 18
                if places_of(a) & places_of(b):
                    assert gap >= 36, (a.event_id, b.event_id)
                elys = [{SHIPPED.ely_of(m) for m in places_of(e)} for e in (a, b)]
                if elys[0] & elys[1]:
                    assert gap >= 18, (a.event_id, b.event_id)


@pytest.mark.slow
def test_notices_announce_the_event_in_its_reference_month(plans: dict[int, SyntheticPlan]) -> None:
    checked = 0
    for p in plans.values():
        by_id = {n.notice_id: n for n in p.notices}
        for event in p.truth:
            if event.kind == "downturn" or event.kind == "hiring_surge":
                assert "notice_ids" not in dict(event.details)
                continue
            ids = detail(event, "notice_ids").split(";")
            notices = [by_id[i] for i in ids]
            assert min(n.period for n in notices) == event.reference_month
            assert max(n.period for n in notices) <= shift(event.reference_month, 2)
            assert {n.municipality for n in notices} <= places_of(event)
            assert sum(n.persons for n in notices) == int(detail(event, "persons"))
            kinds = {n.kind for n in notices}
            if event.kind == "closure":
                assert NoticeKind.CLOSURE in kinds and kinds <= {
                    NoticeKind.CLOSURE, NoticeKind.DISMISSAL,
                }  # fmt: skip
                assert len({n.business_id for n in notices}) == 1
            if event.kind == "temporary_layoff_wave":
                assert kinds == {NoticeKind.TEMPORARY_LAYOFF}
            # The injected employers never file the background's notices.
            employers = {n.business_id for n in notices}
            others = [n for n in p.notices if n.business_id in employers and n not in notices]
            assert not others, event.event_id
            checked += 1
    assert checked > 50


@pytest.mark.slow
def test_magnitudes_are_realistic_for_the_place(truths: list[TruthEvent]) -> None:
    for event in truths:
        details = dict(event.details)
        if event.kind == "closure":
            most = max(10, min(1_200, round(0.08 * int(details["labour_force"]))))
            assert 10 <= int(details["unemployed_effect"]) <= most
            assert int(details["persons"]) >= int(details["unemployed_effect"])
        elif event.kind == "temporary_layoff_wave":
            assert 10 <= int(details["laid_off_effect"]) <= 2_000
            assert 3 <= int(details["months"]) <= 8
        elif event.kind == "hiring_surge":
            assert 0.0 < float(details["vacancy_gain"]) <= 1.5
            assert 0.0 < float(details["unemployment_drop"]) <= 0.15
        elif event.kind == "sector_downturn":
            assert 2 <= len(str(details["municipalities"]).split(";")) <= 5
            assert int(details["unemployed_effect"]) <= 3_000 + 5 * 5
        else:
            assert 0.15 <= float(details["unemployed_increase"]) <= 0.45


@pytest.mark.slow
def test_the_data_show_each_visible_event_where_the_truth_says(
    pair: tuple[SyntheticDataset, SyntheticDataset],
) -> None:
    injected, plain = pair
    with_events, without = first_releases(injected), first_releases(plain)
    first = min(t.reference_month for t in injected.truth)
    before = [k for k in without if k[2] < first]
    assert before and all(with_events[k] == without[k] for k in before)

    def gap(area: str, measure: str, start: str, months: int) -> float:
        # Up to the end of the window: the truth judges visibility inside it.
        keys = [(area, measure, shift(start, k)) for k in range(months)]
        keys = [k for k in keys if k[2] <= injected.end]
        return statistics.fmean(with_events[k] - without[k] for k in keys)

    shown = 0
    for event in injected.truth:
        area, measure, start, months = _peak_window(event)
        difference = gap(area, measure, start, months)
        if event.confidence != "low":
            assert difference > 0, (event.event_id, difference)
            shown += 1
    assert shown >= 3


def _peak_window(event: TruthEvent) -> tuple[str, str, str, int]:
    """Where and when an event's effect is at its fullest: (area, measure, first month, months)."""
    ref = event.reference_month
    if event.kind == "closure":
        return (
            detail(event, "municipality"),
            "unemployed_jobseekers",
            detail(event, "effective_month"),
            6,
        )
    if event.kind == "temporary_layoff_wave":
        months = min(6, int(detail(event, "months")))
        return detail(event, "municipality"), "full_time_laid_off", shift(ref, 1), months
    if event.kind == "hiring_surge":
        return detail(event, "municipality"), "open_at_month_end", shift(ref, 6), 6
    if event.kind == "sector_downturn":
        return detail(event, "region"), "unemployed_jobseekers", shift(ref, 4), 6
    return "SSS", "unemployed_jobseekers", shift(ref, 1), 3


# --- determinism, options, errors ----------------------------------------------------------------


@pytest.mark.slow
def test_the_same_seed_writes_the_same_random_market(tmp_path: Path) -> None:
    def short(seed: int) -> SyntheticPlan:
        return plan(seed=seed, start="2016-01", end="2020-12", scenario="random", events=6)

    one = write_plan(short(11), tmp_path / "one")
    two = write_plan(short(11), tmp_path / "two")
    for a, b in zip(one, two, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert short(11).truth and short(11).truth != short(12).truth


@pytest.mark.slow
def test_the_fixed_scenario_stays_the_default() -> None:
    default = plan(seed=7, start="2018-06", end="2022-12")
    assert default.scenario == "fixed"
    assert [t.event_id for t in default.truth] == [
        "rauma-layoff-wave-2019-02",
        "downturn-2020-03",
        "vaasa-hiring-surge-2021-09",
        "kemi-mill-closure-2022-09",
    ]
    # The random scenario draws from its own stream: the fixed magnitudes do not move.
    assert default.truth == plan(seed=7, start="2018-06", end="2022-12", scenario="fixed").truth


@pytest.mark.slow
def test_a_number_of_events_is_honoured_where_there_is_room() -> None:
    assert len(plan(seed=4, scenario="random", events=10).truth) == 10
    assert plan(seed=4, scenario="random", events=0).truth == ()
    # Too short a window for two years of history before an event: none, and no error.
    assert plan(seed=4, start="2020-01", end="2021-12", scenario="random").truth == ()
    tiny = Hierarchy([SHIPPED.areas[c] for c in ("SSS", "ELY15", "MK19", "SK192", "KU240")])
    few = plan(seed=4, hierarchy=tiny, scenario="random", events=12)
    assert 1 <= len(few.truth) < 12  # one municipality holds only so many events
    assert all(t.kind != "sector_downturn" for t in few.truth)  # needs two municipalities


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scenario": "surprise"}, "scenario"),
        ({"events": 5}, "random scenario"),
        ({"scenario": "random", "events": 41}, "between 0 and 40"),
    ],
)
def test_bad_scenario_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan(**kwargs)  # type: ignore[arg-type]


# --- streaming ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        {"seed": 3, "start": "2018-01", "end": "2021-06", "occupations": 3},
        {"seed": 5, "start": "2014-01", "end": "2019-12", "scenario": "random"},
    ],
)
def test_streaming_writes_what_the_in_memory_writer_writes(
    options: dict[str, object], tmp_path: Path
) -> None:
    planned = plan(**options)  # type: ignore[arg-type]
    streamed = write_plan(planned, tmp_path / "streamed")
    built = write(planned.dataset(), tmp_path / "built")
    assert [p.name for p in streamed] == [p.name for p in built]
    for a, b in zip(streamed, built, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert sum(1 for _ in planned.events()) == len(planned.dataset().events)


def test_series_count_is_areas_by_measures_plus_occupations() -> None:
    planned = plan(seed=1, start="2019-01", end="2019-12", occupations=4)
    municipalities = sum(1 for a in planned.areas if a.startswith("KU"))
    assert planned.series == len(planned.areas) * MEASURES + municipalities * 4 * 2
    assert planned.months == 12
    figures = [e for e in planned.figure_events() if e.revision == 0]
    assert len(figures) == planned.series * planned.months
    assert len({(e.area, e.measure, e.occupation) for e in figures}) == planned.series


# --- a bigger Finland ----------------------------------------------------------------------------


def test_a_synthetic_hierarchy_adds_municipalities_with_plausible_codes() -> None:
    big = synthetic_hierarchy(400)
    assert big == synthetic_hierarchy(400)
    municipalities = big.of_level("KU")
    assert len(municipalities) == 400 and set(SHIPPED.of_level("KU")) <= set(municipalities)
    for code in set(municipalities) - set(SHIPPED.of_level("KU")):
        sub_region, region, ely, country = big.ancestors(code)
        assert sub_region[2:4] == region[2:] and country == "SSS" and ely.startswith("ELY")
        assert big.areas[code].name_fi == f"Kunta {code[2:]}"
    assert {c: SHIPPED.ancestors(c) for c in SHIPPED.of_level("KU")} == {
        c: big.ancestors(c) for c in SHIPPED.of_level("KU")
    }
    counts = Counter(big.ancestors(c)[1] for c in municipalities)
    assert len(counts) == len(SHIPPED.of_level("MK")) and min(counts.values()) >= 10
    assert len(synthetic_hierarchy(MAX_MUNICIPALITIES).of_level("KU")) == MAX_MUNICIPALITIES
    for bad in (10, MAX_MUNICIPALITIES + 1):
        with pytest.raises(ValueError, match="municipalities must be between"):
            synthetic_hierarchy(bad)


@pytest.mark.slow
def test_simulate_prints_the_series_and_writes_a_random_market(tmp_path: Path) -> None:
    out = tmp_path / "random"
    result = CliRunner().invoke(
        cli,
        ["simulate", str(out), "--scenario", "random", "--events", "5", "--seed", "3",
         "--municipalities", "80", "--occupations", "2", "--start", "2015-01", "--end", "2021-12"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = plan(
        seed=3, start="2015-01", end="2021-12", hierarchy=synthetic_hierarchy(80),
        occupations=2, scenario="random", events=5,
    )  # fmt: skip
    assert f"{expected.series:,} series x 84 months" in result.output
    assert expected.series == len(expected.areas) * MEASURES + 80 * 2 * 2
    assert "peak memory" in result.output
    truth = (out / "truth.csv").read_text(encoding="utf-8").splitlines()
    assert len(truth) == 1 + len(expected.truth) == 6
    both = CliRunner().invoke(
        cli,
        [
            "--areas",
            "tutka/config/areas.csv",
            "simulate",
            str(tmp_path / "x"),
            "--municipalities",
            "80",
        ],
    )
    assert both.exit_code != 0 and "either --areas or --municipalities" in both.output


@pytest.mark.slow
def test_occupations_scale_the_series_without_changing_the_totals() -> None:
    small = plan(seed=9, start="2020-01", end="2020-06", hierarchy=synthetic_hierarchy(120))
    broken = plan(
        seed=9, start="2020-01", end="2020-06", hierarchy=synthetic_hierarchy(120), occupations=7
    )
    assert broken.series - small.series == 120 * 7 * 2
    assert len(occupation_codes(7)) == 7
    totals = [e for e in small.figure_events()]
    assert totals == [e for e in broken.figure_events() if e.occupation is None]


# --- seeds ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_development_and_evaluation_seeds_are_apart_and_give_different_markets(
    plans: dict[int, SyntheticPlan],
) -> None:
    assert not set(DEVELOPMENT_SEEDS) & set(EVALUATION_SEEDS)
    assert len(DEVELOPMENT_SEEDS) == len(EVALUATION_SEEDS) == 20
    assert seed_set("evaluation") == EVALUATION_SEEDS
    with pytest.raises(ValueError, match="seed set"):
        seed_set("holdout")  # type: ignore[arg-type]
    evaluation = {t.event_id for t in plan(seed=EVALUATION_SEEDS[0], scenario="random").truth}
    assert evaluation and not evaluation & {t.event_id for p in plans.values() for t in p.truth}


def test_the_module_examples_hold() -> None:
    modules = [tutka.synthetic] + [
        importlib.import_module(f"tutka.synthetic.{m.name}")
        for m in pkgutil.iter_modules(tutka.synthetic.__path__)
    ]
    assert len(modules) == 16
    results = [doctest.testmod(module) for module in modules]
    assert sum(r.failed for r in results) == 0
    assert sum(r.attempted for r in results) >= 10  # the package's and its modules' examples


@pytest.mark.slow
def test_generated_notices_stay_valid_models(plans: dict[int, SyntheticPlan]) -> None:
    for p in plans.values():
        assert all(isinstance(n, LayoffNoticeFiled) for n in p.notices)
        ids = [n.notice_id for n in p.notices]
        assert len(ids) == len(set(ids))
