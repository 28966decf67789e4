"""The synthetic data generator: determinism, validity, exact aggregates, realism, injected truth.

Most tests share one default dataset (seed 7, 2012-01..2024-12, shipped areas) and its
counterfactual without injected events: with the same seed the two share every random draw up to
the first injected change, so ``injected - counterfactual`` isolates an injection's effect from
the business cycle and the noise.
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from tutka.config.areas import demo_hierarchy
from tutka.models.areas import Area, Hierarchy
from tutka.models.codes import business_id_is_valid, period_after, period_index, period_str
from tutka.models.events import (
    Event,
    LayoffNoticeFiled,
    NoticeKind,
    UnemploymentMeasure,
    UnemploymentReported,
    VacanciesReported,
    VacancyMeasure,
)
from tutka.models.personal_data import find_personal_codes
from tutka.synthetic import (
    EMPLOYER_VOCABULARY,
    ISCO_08_UNIT_GROUPS,
    SECTION_OCCUPATIONS,
    TRUTH_COLUMNS,
    SyntheticDataset,
    TruthEvent,
    generate,
    municipality_profile,
    occupation_codes,
    publication_date,
    write,
)

EVENTS = TypeAdapter(Event)
Figure = UnemploymentReported | VacanciesReported
U = UnemploymentMeasure
V = VacancyMeasure
LEGAL_FORMS = ("Oy", "Ab", "Oy Ab", "Oyj", "Ky")


class Figures:
    """Figures by (area, measure, period, occupation), first and latest revision."""

    def __init__(self, events: Iterable[object]) -> None:
        self.first: dict[tuple[str, str, str, str | None], float] = {}
        self.latest: dict[tuple[str, str, str, str | None], float] = {}
        for event in events:
            if isinstance(event, UnemploymentReported | VacanciesReported):
                key = (event.area, event.measure.value, event.period, event.occupation)
                if event.revision == 0:
                    self.first[key] = event.value
                self.latest[key] = event.value  # events come in order of availability

    def value(self, area: str, measure: str, period: str, latest: bool = False) -> float:
        return (self.latest if latest else self.first)[(area, measure, period, None)]

    def mean(self, area: str, measure: str, first: str, months: int) -> float:
        start = period_index(first)
        return statistics.fmean(
            self.value(area, measure, period_str(start + k)) for k in range(months)
        )

    def series(self, area: str, measure: str, first: str, last: str) -> list[float]:
        return [
            self.value(area, measure, period_str(i))
            for i in range(period_index(first), period_index(last) + 1)
        ]


def shift(period: str, months: int) -> str:
    return period_str(period_index(period) + months)


@pytest.fixture(scope="module")
def dataset() -> SyntheticDataset:
    started = time.perf_counter()
    data = generate()
    print(f"\ndefault generation: {time.perf_counter() - started:.2f} s, {data.counts()}")
    return data


@pytest.fixture(scope="module")
def counterfactual() -> SyntheticDataset:
    return generate(inject=False)


@pytest.fixture(scope="module")
def figures(dataset: SyntheticDataset) -> Figures:
    return Figures(dataset.events)


@pytest.fixture(scope="module")
def without(counterfactual: SyntheticDataset) -> Figures:
    return Figures(counterfactual.events)


@pytest.fixture(scope="module")
def files(dataset: SyntheticDataset, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    started = time.perf_counter()
    paths = write(dataset, tmp_path_factory.mktemp("synthetic"))
    print(f"\nwrite: {time.perf_counter() - started:.2f} s")
    return {path.name: path for path in paths}


@pytest.fixture(scope="module")
def notices(dataset: SyntheticDataset) -> list[LayoffNoticeFiled]:
    return dataset.of_type(LayoffNoticeFiled)


def truth_of(dataset: SyntheticDataset, kind: str) -> TruthEvent:
    (event,) = [t for t in dataset.truth if t.kind == kind]
    return event


# --- determinism ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_same_seed_writes_identical_files(files: dict[str, Path], tmp_path: Path) -> None:
    again = write(generate(), tmp_path)
    assert [p.name for p in again] == list(files)
    for path in again:
        assert path.read_bytes() == files[path.name].read_bytes(), path.name


@pytest.mark.slow
def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    one = write(generate(seed=7, start="2019-01", end="2019-12"), tmp_path / "seven")
    two = write(generate(seed=8, start="2019-01", end="2019-12"), tmp_path / "eight")
    for a, b in zip(one, two, strict=True):
        if a.name.endswith(".jsonl"):
            assert a.read_bytes() != b.read_bytes(), a.name


@pytest.mark.slow
def test_a_shorter_window_holds_the_same_figures(figures: Figures) -> None:
    # 2013-2017 holds no injected event, so the market is the same month for month.
    short = Figures(generate(start="2013-01", end="2017-12").events)
    assert short.first
    assert all(figures.first[key] == value for key, value in short.first.items())


# --- validity and format -------------------------------------------------------------------------


@pytest.mark.slow
def test_every_line_is_a_valid_event_of_its_file(files: dict[str, Path]) -> None:
    expected = {"unemployment.jsonl": "unemployment", "vacancies.jsonl": "vacancies",
                "notices.jsonl": "layoff_notice"}  # fmt: skip
    for name, kind in expected.items():
        lines = files[name].read_text(encoding="utf-8").splitlines()
        assert lines, name
        for line in lines:
            event = EVENTS.validate_json(line)
            assert event.type == kind
            assert event.model_dump_json() == line  # a faithful round trip
            assert event.source == "synthetic"


@pytest.mark.slow
def test_files_are_ordered_by_availability(files: dict[str, Path]) -> None:
    for name in ("unemployment.jsonl", "vacancies.jsonl"):
        rows = [json.loads(line) for line in files[name].read_text(encoding="utf-8").splitlines()]
        keys = [(r["published"], r["period"], r["area"], r["measure"], r["occupation"] or "")
                for r in rows]  # fmt: skip
        assert keys == sorted(keys), name
    rows = [json.loads(line) for line in files["notices.jsonl"].read_text().splitlines()]
    notice_keys = [(r["announced"], r["notice_id"]) for r in rows]
    assert notice_keys == sorted(notice_keys)
    assert len({r["notice_id"] for r in rows}) == len(rows)


@pytest.mark.slow
def test_dataset_events_are_ordered_by_availability(dataset: SyntheticDataset) -> None:
    days = [e.available_on for e in dataset.events]
    assert days == sorted(days)


@pytest.mark.slow
def test_truth_csv_has_the_scorecard_columns(
    files: dict[str, Path], dataset: SyntheticDataset
) -> None:
    with files["truth.csv"].open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == TRUTH_COLUMNS
        rows = list(reader)
    assert [r["event_id"] for r in rows] == [t.event_id for t in dataset.truth]
    assert {r["event_id"] for r in rows} == {
        "downturn-2020-03",
        "kemi-mill-closure-2022-09",
        "rauma-layoff-wave-2019-02",
        "vaasa-hiring-surge-2021-09",
    }
    for row in rows:
        regions = row["regions"].split(";")
        assert regions and set(regions) <= set(dataset.areas)
        assert "2012-01" <= row["reference_month"] <= "2024-12"
        period_index(row["reference_month"])
        assert row["polarity"] in ("negative", "positive")
        assert row["confidence"] in ("high", "medium", "low")
        assert row["what"].isascii() and row["what"].endswith(".") and len(row["what"]) < 300
    polarity = {r["event_id"].split("-")[0]: r["polarity"] for r in rows}
    assert polarity == {"downturn": "negative", "kemi": "negative", "rauma": "negative",
                        "vaasa": "positive"}  # fmt: skip


@pytest.mark.slow
def test_truth_regions_are_where_the_change_shows(dataset: SyntheticDataset) -> None:
    regions = {t.kind: t.regions for t in dataset.truth}
    assert regions["closure"][-1] == "KU240" and "SK192" in regions["closure"]
    assert "SSS" not in regions["closure"] and "KU751" not in regions["closure"]
    assert regions["temporary_layoff_wave"][-1] == "KU684"
    assert regions["hiring_surge"][-1] == "KU905" and "SSS" not in regions["hiring_surge"]
    assert regions["downturn"][0] == "SSS"
    assert {"ELY01", "KU091", "KU240"} <= set(regions["downturn"])


@pytest.mark.slow
def test_manifest_counts_match_the_files(files: dict[str, Path], dataset: SyntheticDataset) -> None:
    manifest = json.loads(files["manifest.json"].read_text(encoding="utf-8"))
    assert (manifest["seed"], manifest["start"], manifest["end"]) == (7, "2012-01", "2024-12")
    lines = {name: len(files[name].read_text().splitlines())
             for name in ("unemployment.jsonl", "vacancies.jsonl", "notices.jsonl")}  # fmt: skip
    assert manifest["counts"] == {
        "unemployment": lines["unemployment.jsonl"],
        "vacancies": lines["vacancies.jsonl"],
        "layoff_notice": lines["notices.jsonl"],
    }
    revised = sum(
        line.count('"revision":1') for name in ("unemployment.jsonl", "vacancies.jsonl")
        for line in files[name].read_text().splitlines()
    )  # fmt: skip
    assert manifest["revisions"] == revised > 0
    assert [e["event_id"] for e in manifest["injected"]] == [t.event_id for t in dataset.truth]
    kemi = next(e for e in manifest["injected"] if e["kind"] == "closure")
    assert 340 <= kemi["details"]["unemployed_effect"] <= 380
    assert business_id_is_valid(kemi["details"]["business_id"])


# --- the market ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_aggregates_are_exact_sums_of_their_municipalities(dataset: SyntheticDataset) -> None:
    hierarchy = demo_hierarchy()
    municipalities = hierarchy.of_level("KU")
    for table in (Figures(dataset.events).first, Figures(dataset.events).latest):
        sums: dict[tuple[str, str, str], float] = defaultdict(float)
        for (area, measure, period, occupation), value in table.items():
            if area.startswith("KU") and occupation is None:
                for ancestor in hierarchy.ancestors(area):
                    sums[(ancestor, measure, period)] += value
        aggregates = {k[:3]: v for k, v in table.items() if not k[0].startswith("KU")}
        assert aggregates.keys() == sums.keys()
        assert aggregates == sums
        assert {k[0] for k in table} == {a for a in dataset.areas}
    assert len(municipalities) == 39 and set(municipalities) <= set(dataset.areas)


@pytest.mark.slow
def test_every_area_with_municipalities_is_emitted_and_no_other(dataset: SyntheticDataset) -> None:
    hierarchy = demo_hierarchy()
    covered = {a for code in hierarchy.of_level("KU") for a in (code, *hierarchy.ancestors(code))}
    assert set(dataset.areas) == covered
    measures = Counter(
        (e.area, e.measure)
        for e in dataset.events
        if not isinstance(e, LayoffNoticeFiled) and e.revision == 0
    )
    assert set(m for _, m in measures) == {*UnemploymentMeasure, *VacancyMeasure}
    assert set(measures.values()) == {156}  # every measure every month, for every area


@pytest.mark.slow
def test_sizes_and_rates_are_plausible(figures: Figures) -> None:
    labour_force = {code: figures.value(code, "labour_force", "2019-06")
                    for code in ("KU091", "KU049", "KU837", "KU742", "KU304")}  # fmt: skip
    assert 320_000 < labour_force["KU091"] < 380_000
    assert 145_000 < labour_force["KU049"] < 175_000
    assert 115_000 < labour_force["KU837"] < 145_000
    assert 400 < labour_force["KU742"] < 620 and 300 < labour_force["KU304"] < 500
    for area in demo_hierarchy().of_level("KU"):
        rate = figures.mean(area, "unemployed_jobseekers", "2019-01", 12) / figures.value(
            area, "labour_force", "2019-01"
        )
        assert 0.03 < rate < 0.25, area
    national = figures.mean("SSS", "unemployed_jobseekers", "2012-01", 156) / figures.mean(
        "SSS", "labour_force", "2012-01", 156
    )
    assert 0.07 < national < 0.14


@pytest.mark.slow
def test_labour_force_is_an_annual_figure_that_drifts(figures: Figures) -> None:
    for area in ("KU091", "KU240", "SSS"):
        for year in range(2012, 2025):
            values = figures.series(area, "labour_force", f"{year}-01", f"{year}-12")
            assert len(set(values)) == 1, (area, year)
        assert figures.value(area, "labour_force", "2012-06") != figures.value(
            area, "labour_force", "2024-06"
        )


@pytest.mark.slow
def test_unemployment_peaks_in_july_and_is_low_in_may(figures: Figures) -> None:
    july = [figures.value("SSS", "unemployed_jobseekers", f"{y}-07") for y in range(2012, 2025)]
    may = [figures.value("SSS", "unemployed_jobseekers", f"{y}-05") for y in range(2012, 2025)]
    assert sum(j > m for j, m in zip(july, may, strict=True)) >= 12
    assert statistics.fmean(july) / statistics.fmean(may) > 1.08
    january = [figures.value("SSS", "unemployed_jobseekers", f"{y}-01") for y in range(2012, 2025)]
    october = [figures.value("SSS", "unemployed_jobseekers", f"{y}-10") for y in range(2012, 2025)]
    assert sum(j > o for j, o in zip(january, october, strict=True)) >= 11


@pytest.mark.slow
def test_vacancies_peak_in_spring(figures: Figures) -> None:
    february = [figures.value("SSS", "open_at_month_end", f"{y}-02") for y in range(2012, 2025)]
    november = [figures.value("SSS", "open_at_month_end", f"{y}-11") for y in range(2012, 2025)]
    assert all(f > n for f, n in zip(february, november, strict=True))


@pytest.mark.slow
def test_small_areas_are_noisier_than_large_ones(counterfactual: SyntheticDataset) -> None:
    figures = Figures(counterfactual.events)

    def roughness(area: str) -> float:
        values = np.array(figures.series(area, "unemployed_jobseekers", "2012-01", "2019-12"))
        # Month-to-month change of the year-on-year change: no seasonality, hardly any cycle.
        return float(np.std(np.diff(np.log(values[12:]) - np.log(values[:-12]))))

    assert roughness("KU742") > 2 * roughness("KU091") > 0
    assert roughness("KU091") > roughness("SSS")


@pytest.mark.slow
def test_groups_of_the_unemployed_are_consistent(dataset: SyntheticDataset) -> None:
    table = Figures(dataset.events).first
    for area in dataset.areas:
        for year in range(2012, 2025):
            for month in (1, 7):
                period = f"{year}-{month:02d}"

                def get(measure: str, area: str = area, period: str = period) -> float:
                    return table[(area, measure, period, None)]

                total = get("unemployed_jobseekers")
                assert get("full_time_laid_off") <= total
                assert get("long_term_unemployed") <= total - get("full_time_laid_off")
                assert get("under_25") <= get("under_30") <= total
                assert get("under_30") + get("over_54") <= total
                assert get("foreign_language") <= total
                assert total < get("labour_force")


@pytest.mark.slow
def test_shares_of_groups_are_plausible_and_move(figures: Figures) -> None:
    def share(measure: str, area: str, year: int) -> float:
        return figures.mean(area, measure, f"{year}-01", 12) / figures.mean(
            area, "unemployed_jobseekers", f"{year}-01", 12
        )

    assert 0.07 < share("under_25", "SSS", 2018) < 0.14
    assert 0.18 < share("over_54", "SSS", 2018) < 0.35
    assert 0.2 < share("long_term_unemployed", "SSS", 2018) < 0.4
    assert 0.03 < share("full_time_laid_off", "SSS", 2018) < 0.15
    # Foreign-language job-seekers: a rising share, highest in the capital.
    assert share("foreign_language", "SSS", 2024) > 1.5 * share("foreign_language", "SSS", 2012)
    assert share("foreign_language", "KU091", 2020) > 2 * share("foreign_language", "KU742", 2020)
    # Students swell the summer: the under-25 share is higher in July than in May.
    july = figures.mean("SSS", "under_25", "2018-07", 1) / figures.value(
        "SSS", "unemployed_jobseekers", "2018-07"
    )
    may = figures.mean("SSS", "under_25", "2018-05", 1) / figures.value(
        "SSS", "unemployed_jobseekers", "2018-05"
    )
    assert july > 1.2 * may


@pytest.mark.slow
def test_tightness_moves_against_unemployment(counterfactual: SyntheticDataset) -> None:
    figures = Figures(counterfactual.events)
    years = range(2012, 2025)
    unemployed = [figures.mean("SSS", "unemployed_jobseekers", f"{y}-01", 12) for y in years]
    vacancies = [figures.mean("SSS", "open_at_month_end", f"{y}-01", 12) for y in years]
    assert np.corrcoef(np.diff(np.log(unemployed)), np.diff(np.log(vacancies)))[0, 1] < -0.5


# --- publication and revisions -------------------------------------------------------------------


@pytest.mark.slow
def test_figures_are_published_after_their_month(dataset: SyntheticDataset) -> None:
    first: dict[tuple[str, str, str], date] = {}
    revised = 0
    for event in dataset.events:
        if isinstance(event, LayoffNoticeFiled):
            continue
        assert event.published >= period_after(event.period)
        assert event.published.weekday() < 5
        key = (event.area, event.measure.value, event.period)
        if event.revision == 0:
            assert event.published == publication_date(event.period)
            assert 25 <= event.published.day <= 27
            assert period_index(f"{event.published:%Y-%m}") == period_index(event.period) + 1
            first[key] = event.published
        else:
            assert event.revision == 1
            assert first[key] < event.published == publication_date(event.period, revision=1)
            revised += 1
    assert 0.005 < revised / len(first) < 0.02


@pytest.mark.slow
def test_revisions_are_small_corrections(dataset: SyntheticDataset) -> None:
    figures = Figures(dataset.events)
    changes = [(figures.latest[k], v) for k, v in figures.first.items() if figures.latest[k] != v]
    assert changes
    assert all(abs(new - old) <= max(3.0, 0.06 * old) for new, old in changes)
    unchanged = {k for k, v in figures.first.items() if figures.latest[k] == v}
    assert all(k[1] != "labour_force" for k in figures.first.keys() - unchanged)


def test_publication_date_moves_weekends_to_monday() -> None:
    assert publication_date("2020-06") == date(2020, 7, 27)  # Saturday 25 July
    assert publication_date("2021-06") == date(2021, 7, 26)  # Sunday 25 July
    assert publication_date("2021-08") == date(2021, 9, 27)  # Saturday 25 September
    assert publication_date("2023-09") == date(2023, 10, 25)  # a Wednesday
    assert publication_date("2023-12", revision=1) == date(2024, 2, 26)


# --- layoff notices ------------------------------------------------------------------------------


@pytest.mark.slow
def test_notices_have_valid_business_ids_and_no_personal_data(
    notices: list[LayoffNoticeFiled], files: dict[str, Path]
) -> None:
    assert len(notices) > 5000
    assert all(business_id_is_valid(n.business_id) for n in notices)
    for path in files.values():
        assert find_personal_codes(path.read_text(encoding="utf-8")) == [], path.name
    names_of: dict[str, set[str]] = defaultdict(set)
    ids_of: dict[str, set[str]] = defaultdict(set)
    for notice in notices:
        names_of[notice.business_id].add(notice.employer)
        ids_of[notice.employer].add(notice.business_id)
        # Names are built from place, trade and legal-form words only: never a person.
        assert set(notice.employer.split()) <= EMPLOYER_VOCABULARY, notice.employer
        assert notice.employer.endswith(LEGAL_FORMS), notice.employer
    assert all(len(names) == 1 for names in names_of.values())
    assert all(len(ids) == 1 for ids in ids_of.values())
    assert len(ids_of) < len(notices)  # employers come back with later notices


@pytest.mark.slow
def test_notices_look_like_real_ones(
    notices: list[LayoffNoticeFiled], dataset: SyntheticDataset
) -> None:
    injected = {"KU240", "KU684"}
    background = [
        n
        for n in notices
        if not (n.municipality in injected and n.period in ("2019-02", "2022-09"))
    ]
    for notice in background:
        assert 14 <= (notice.effective_from - notice.announced).days <= 56
        assert notice.announced.weekday() < 5
        assert notice.effective_to is None or notice.effective_to > notice.effective_from
        if notice.kind in (NoticeKind.DISMISSAL, NoticeKind.CLOSURE):
            assert notice.effective_to is None
        assert set(notice.occupations) <= set(SECTION_OCCUPATIONS[notice.sector])
    sizes = np.array([n.persons for n in notices])
    assert 5 <= np.median(sizes) <= 40
    assert np.mean((sizes >= 5) & (sizes <= 40)) > 0.5
    assert 0 < np.mean(sizes >= 100) < 0.03
    kinds = Counter(n.kind for n in notices)
    assert kinds.most_common(1)[0][0] is NoticeKind.TEMPORARY_LAYOFF
    assert 0 < kinds[NoticeKind.CLOSURE] < 0.06 * len(notices)
    sectors = Counter(n.sector for n in notices)
    assert sectors.most_common(1)[0][0] == "C"
    assert {"F", "G", "H", "I", "Q"} <= set(sectors)
    # Bigger places file more notices.
    by_area = Counter(n.municipality for n in notices)
    assert by_area["KU091"] > 10 * by_area["KU240"] > 0
    assert {n.municipality for n in notices} <= set(dataset.areas)


def test_occupation_codes_of_notices_are_isco_08() -> None:
    codes = {code for group in SECTION_OCCUPATIONS.values() for code in group}
    assert codes <= set(ISCO_08_UNIT_GROUPS)
    assert len(ISCO_08_UNIT_GROUPS) == len(set(ISCO_08_UNIT_GROUPS)) > 400


# --- injected events -----------------------------------------------------------------------------


@pytest.mark.slow
def test_history_before_the_first_injection_equals_the_counterfactual(
    figures: Figures, without: Figures
) -> None:
    before = {k: v for k, v in without.first.items() if k[2] < "2019-02"}
    assert len(before) > 50_000
    assert all(figures.first[k] == v for k, v in before.items())
    assert any(figures.first[k] != v for k, v in without.first.items() if k[2] >= "2019-02")


@pytest.mark.slow
def test_downturn_raises_unemployment_everywhere_and_recovers(
    figures: Figures, without: Figures, notices: list[LayoffNoticeFiled]
) -> None:
    def ratio(area: str, measure: str, period: str) -> float:
        return figures.value(area, measure, period) / without.value(area, measure, period)

    assert 1.33 < ratio("SSS", "unemployed_jobseekers", "2020-05") < 1.52
    assert 3.5 < ratio("SSS", "full_time_laid_off", "2020-05") < 6.5
    assert ratio("SSS", "open_at_month_end", "2020-05") < 0.8
    for ely in ("ELY01", "ELY05", "ELY13", "ELY15"):
        assert 1.3 < ratio(ely, "unemployed_jobseekers", "2020-05") < 1.55, ely
    assert 0.97 < ratio("SSS", "unemployed_jobseekers", "2021-09") < 1.05  # recovered
    # Visible in the raw data too: up within three months although May is seasonally low.
    assert figures.value("SSS", "unemployed_jobseekers", "2020-05") > 1.2 * figures.value(
        "SSS", "unemployed_jobseekers", "2020-02"
    )
    monthly_2019 = sum(n.period.startswith("2019") for n in notices) / 12
    surge = [n for n in notices if n.period in ("2020-03", "2020-04")]
    assert len(surge) / 2 > 3 * monthly_2019
    assert Counter(n.kind for n in surge)[NoticeKind.TEMPORARY_LAYOFF] > 0.7 * len(surge)
    assert len({n.municipality for n in surge}) > 25


@pytest.mark.slow
def test_kemi_mill_closure_is_announced_then_shows_for_good(
    dataset: SyntheticDataset, figures: Figures, without: Figures, notices: list[LayoffNoticeFiled]
) -> None:
    truth = truth_of(dataset, "closure")
    assert truth.reference_month == "2022-09"
    details = dict(truth.details)
    mill = [n for n in notices if n.notice_id in str(details["notice_ids"]).split(";")]
    assert 2 <= len(mill) <= 3
    assert {n.business_id for n in mill} == {details["business_id"]}
    assert not [n for n in notices if n.business_id == details["business_id"] and n not in mill]
    assert {n.period for n in mill} == {"2022-09"} and {n.municipality for n in mill} == {"KU240"}
    assert {n.sector for n in mill} == {"C"}
    assert NoticeKind.CLOSURE in {n.kind for n in mill}
    assert {n.kind for n in mill} <= {NoticeKind.DISMISSAL, NoticeKind.CLOSURE}
    assert 450 <= sum(n.persons for n in mill) <= 550
    for notice in mill:
        assert timedelta(days=80) < notice.effective_from - notice.announced < timedelta(days=160)

    effective = str(details["effective_month"])
    assert effective == "2023-01"

    # Six months after the closure, against the year before, net of the national movement.
    def rest(period: str) -> float:
        return figures.mean("SSS", "unemployed_jobseekers", period, 6) - sum(
            figures.mean(code, "unemployed_jobseekers", period, 6)
            for code in ("KU240", "KU751", "KU851")
        )

    after, before = shift(effective, 3), shift(effective, -9)
    kemi_after = figures.mean("KU240", "unemployed_jobseekers", after, 6)
    kemi_before = figures.mean("KU240", "unemployed_jobseekers", before, 6)
    assert kemi_after - kemi_before * rest(after) / rest(before) > 250
    # Against the same market without the closure: nothing before, ~350 after, for good.
    for months, low, high in ((-16, -60, 60), (3, 270, 450), (18, 270, 450)):
        first = shift(effective, months)
        gap = figures.mean("KU240", "unemployed_jobseekers", first, 6) - without.mean(
            "KU240", "unemployed_jobseekers", first, 6
        )
        assert low < gap < high, (first, gap)
    spill = figures.mean("KU851", "unemployed_jobseekers", after, 12) - without.mean(
        "KU851", "unemployed_jobseekers", after, 12
    )
    assert 10 < spill < 100  # Tornio: a little spill-over
    dip = figures.mean("KU240", "open_at_month_end", effective, 12) / without.mean(
        "KU240", "open_at_month_end", effective, 12
    )
    assert dip < 0.85

    # The long-term unemployed follow about a year later.
    def long_term_gap(months: int) -> float:
        period = shift(effective, months)
        return figures.mean("KU240", "long_term_unemployed", period, 4) - without.mean(
            "KU240", "long_term_unemployed", period, 4
        )

    assert long_term_gap(0) < 45 < 75 < long_term_gap(14)


@pytest.mark.slow
def test_rauma_layoff_wave_peaks_then_returns(
    dataset: SyntheticDataset, figures: Figures, without: Figures, notices: list[LayoffNoticeFiled]
) -> None:
    truth = truth_of(dataset, "temporary_layoff_wave")
    assert (truth.reference_month, truth.confidence) == ("2019-02", "medium")
    wave = [n for n in notices if n.notice_id in str(dict(truth.details)["notice_ids"]).split(";")]
    assert len(wave) == 4 and {(n.municipality, n.period) for n in wave} == {("KU684", "2019-02")}
    assert {n.kind for n in wave} == {NoticeKind.TEMPORARY_LAYOFF}
    assert 700 <= sum(n.persons for n in wave) <= 900
    assert all(n.effective_to is not None for n in wave)

    laid_off = figures.series("KU684", "full_time_laid_off", "2018-01", "2020-02")
    normal = statistics.median(laid_off[:12])
    peak = max(laid_off[14:20])  # 2019-03..2019-08
    assert peak > 3 * normal
    effect = float(dict(truth.details)["laid_off_effect"])
    autumn = statistics.fmean(laid_off[22:25])  # 2019-11..2020-01
    autumn_before = statistics.fmean(laid_off[10:13])  # a year earlier
    assert abs(autumn - autumn_before) < 0.25 * effect < peak - autumn

    def gap(measure: str, first: str, months: int) -> float:
        return figures.mean("KU684", measure, first, months) - without.mean(
            "KU684", measure, first, months
        )

    assert 0.7 * effect < gap("full_time_laid_off", "2019-03", 6) < 1.3 * effect
    assert 0.6 * effect < gap("unemployed_jobseekers", "2019-03", 6) < 1.4 * effect
    assert abs(gap("unemployed_jobseekers", "2019-12", 3)) < 0.15 * effect


@pytest.mark.slow
def test_vaasa_hiring_surge_lifts_vacancies_and_lowers_unemployment(
    dataset: SyntheticDataset, figures: Figures, without: Figures
) -> None:
    truth = truth_of(dataset, "hiring_surge")
    assert (truth.reference_month, truth.polarity) == ("2021-09", "positive")

    def ratio(measure: str, first: str, months: int) -> float:
        return figures.mean("KU905", measure, first, months) / without.mean(
            "KU905", measure, first, months
        )

    # Before the onset only the downturn (over by mid-2021) separates the two markets.
    assert 0.9 < ratio("open_at_month_end", "2021-06", 3) < 1.1
    assert 0.95 < ratio("unemployed_jobseekers", "2021-06", 3) < 1.05
    assert 1.5 < ratio("open_at_month_end", "2022-03", 12) < 2.0
    assert 1.5 < ratio("new_in_month", "2022-03", 24) < 2.0
    assert 0.8 < ratio("unemployed_jobseekers", "2022-06", 12) < 0.93
    # Visible in the raw data: a year after the onset, against the year before it.
    assert figures.mean("KU905", "open_at_month_end", "2022-03", 12) > 1.4 * figures.mean(
        "KU905", "open_at_month_end", "2020-09", 12
    )


# --- other hierarchies, windows, occupations --------------------------------------------------


def small_hierarchy() -> Hierarchy:
    """Kemi and Tornio, an invented municipality and a region without municipalities."""
    return Hierarchy([
        Area("SSS", "Koko maa", "Hela landet", "Finland", None),
        Area("ELY14", "Kainuu", "Kajanaland", "Kainuu", "SSS"),
        Area("MK18", "Kainuu", "Kajanaland", "Kainuu", "ELY14"),
        Area("ELY15", "Lappi", "Lappland", "Lapland", "SSS"),
        Area("MK19", "Lappi", "Lappland", "Lapland", "ELY15"),
        Area("SK192", "Kemi-Tornio", "Kemi-Torneå", "Kemi-Tornio", "MK19"),
        Area("SK196", "Tunturi-Lappi", "Fjäll-Lappland", "Tunturi-Lappi", "MK19"),
        Area("KU240", "Kemi", "Kemi", "Kemi", "SK192"),
        Area("KU851", "Tornio", "Torneå", "Tornio", "SK192"),
        Area("KU976", "Ylitornio", "Övertorneå", "Ylitornio", "SK196"),
    ])  # fmt: skip


def test_other_hierarchies_get_only_the_events_whose_areas_exist() -> None:
    data = generate(start="2016-01", end="2024-12", hierarchy=small_hierarchy())
    assert data.areas == ("SSS", "ELY15", "MK19", "SK192", "SK196", "KU240", "KU851", "KU976")
    assert [t.kind for t in data.truth] == ["downturn", "closure"]  # no Rauma, no Vaasa
    figures = Figures(data.events)
    for measure in ("unemployed_jobseekers", "open_at_month_end", "labour_force"):
        for period in ("2016-01", "2020-05", "2024-12"):
            parts = sum(figures.value(c, measure, period) for c in ("KU240", "KU851", "KU976"))
            assert figures.value("SSS", measure, period) == parts
    assert {n.municipality for n in data.of_type(LayoffNoticeFiled)} <= {"KU240", "KU851", "KU976"}


@pytest.mark.slow
def test_a_window_without_the_events_has_no_truth() -> None:
    data = generate(start="2013-01", end="2016-12")
    assert data.truth == ()
    assert all(e.available_on >= date(2013, 1, 1) for e in data.events)
    assert {e.period for e in data.events if isinstance(e, UnemploymentReported)} == {
        period_str(i) for i in range(period_index("2013-01"), period_index("2016-12") + 1)
    }


def test_unknown_municipalities_get_a_deterministic_plausible_profile() -> None:
    profile = municipality_profile("KU976", "ELY15")
    assert profile == municipality_profile("KU976", "ELY15")
    assert 400 <= profile.labour_force <= 10_000 and 0.07 < profile.unemployment_rate < 0.13
    assert "north" in profile.tags and profile.genitive is None
    assert municipality_profile("KU091").labour_force == 350_000
    assert municipality_profile("KU742").labour_force == 500
    assert municipality_profile("KU304").labour_force == 400


@pytest.mark.slow
def test_occupation_breakdown_is_consistent_with_the_totals() -> None:
    data = generate(start="2019-01", end="2019-12", occupations=5)
    codes = occupation_codes(5)
    assert len(codes) == 5 and set(codes) <= set(ISCO_08_UNIT_GROUPS)
    broken = [
        e for e in data.events if not isinstance(e, LayoffNoticeFiled) and e.occupation is not None
    ]
    municipalities = [a for a in data.areas if a.startswith("KU")]
    assert len(broken) == len(municipalities) * 12 * 5 * 2
    assert {e.occupation for e in broken} == set(codes)
    assert {e.area for e in broken} == set(municipalities)
    assert {e.measure for e in broken} == {U.UNEMPLOYED_JOBSEEKERS, V.OPEN_AT_MONTH_END}
    figures = Figures(data.events)
    shares = []
    for area in municipalities:
        for month in range(1, 13):
            period = f"2019-{month:02d}"
            for measure in ("unemployed_jobseekers", "open_at_month_end"):
                total = figures.value(area, measure, period)
                parts = sum(figures.first[(area, measure, period, code)] for code in codes)
                assert parts <= total
                shares.append(parts / total if total else 0.0)
    assert 0.03 < statistics.fmean(shares) < 0.4
    # The totals are the same market as without the breakdown.
    plain = Figures(generate(start="2019-01", end="2019-12").events)
    assert {k: v for k, v in figures.first.items() if k[3] is None} == plain.first


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, "seed"),
        ({"start": "2020-05", "end": "2020-01"}, "before start"),
        ({"start": "2020-13"}, "month 13"),
        ({"occupations": 10_000}, "occupations"),
        ({"hierarchy": Hierarchy([Area("SSS", "Koko maa", "", "", None)])}, "no municipalities"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(**kwargs)  # type: ignore[arg-type]


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    start=st.integers(period_index("2015-01"), period_index("2024-01")),
)
def test_invariants_hold_for_any_seed_and_window(seed: int, start: int) -> None:
    first, last = period_str(start), period_str(start + 11)
    data = generate(seed=seed, start=first, end=last, hierarchy=small_hierarchy())
    again = generate(seed=seed, start=first, end=last, hierarchy=small_hierarchy())
    assert [e.model_dump_json() for e in data.events] == [e.model_dump_json() for e in again.events]
    table = Figures(data.events).latest
    for (area, measure, period, _), value in table.items():
        if area == "SSS":
            parts = sum(table[(m, measure, period, None)] for m in ("KU240", "KU851", "KU976"))
            assert value == parts
    for event in data.events:
        EVENTS.validate_json(event.model_dump_json())
        if not isinstance(event, LayoffNoticeFiled):
            assert event.published >= period_after(event.period)
            assert first <= event.period <= last
        else:
            assert first <= event.period <= last
