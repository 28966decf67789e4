"""The metrics module: bounded labels, engine counters, the open-alert picture, cardinality."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import alert
from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.config.settings import AlertmanagerSettings
from tutka.models.alerts import AlertKind, AlertStatus, Polarity, Severity
from tutka.models.areas import Area, Hierarchy
from tutka.monitoring.metrics import BoundedLabel, create_metrics, picture
from tutka.monitoring.observe import Observer
from tutka.replay import replay
from tutka.streams.engine import EngineStats
from tutka.synthetic import generate, write


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return samples(registry).get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_bounded_label_keeps_its_first_values_and_folds_the_rest_into_other() -> None:
    label = BoundedLabel(3)
    assert [label(v) for v in "abcdeab"] == ["a", "b", "c", "other", "other", "a", "b"]


def test_each_factory_call_has_its_own_registry() -> None:
    first, second = create_metrics(), create_metrics()
    first.consumed("unemployment")
    assert value(first.registry, "tutka_events_consumed_total", source="unemployment",
                 outcome="valid") == 1  # fmt: skip
    assert value(second.registry, "tutka_events_consumed_total", source="unemployment",
                 outcome="valid") == 0  # fmt: skip


def test_dead_letters_are_counted_as_consumed_and_by_reason_with_unknown_sources_folded() -> None:
    metrics = create_metrics()
    metrics.dead_lettered("vacancies", "validation", "greater_than_equal")
    metrics.dead_lettered("a-topic-nobody-knows", "decode", "json_invalid")
    reg = metrics.registry
    assert value(reg, "tutka_events_consumed_total", source="vacancies", outcome="dead_letter") == 1
    assert value(reg, "tutka_events_consumed_total", source="unknown", outcome="dead_letter") == 1
    assert value(reg, "tutka_dead_letters_total", source="unknown", reason="decode",
                 error_type="json_invalid") == 1  # fmt: skip


def test_error_types_beyond_the_bound_become_other() -> None:
    metrics = create_metrics()
    for i in range(100):
        metrics.dead_lettered("unemployment", "processing", f"Error{i}")
    errors = {dict(labels)["error_type"] for (name, labels) in samples(metrics.registry)
              if name == "tutka_dead_letters_total"}  # fmt: skip
    assert len(errors) == 33 and "other" in errors


def test_engine_stats_become_counter_increments_and_a_restored_engine_starts_over() -> None:
    metrics = create_metrics()
    stats = EngineStats()
    stats.evaluations["cusum"] = 10
    stats.signals["cusum"] = 2
    metrics.sync_engine(stats, series=5, engine_id=1)
    stats.evaluations["cusum"] = 15
    metrics.sync_engine(stats, series=6, engine_id=1)
    reg = metrics.registry
    assert value(reg, "tutka_detector_evaluations_total", detector="cusum") == 15
    assert value(reg, "tutka_detector_signals_total", detector="cusum") == 2
    assert value(reg, "tutka_series_tracked") == 6
    restored = EngineStats()
    restored.evaluations["cusum"] = 4  # a new engine object, its stats from zero
    metrics.sync_engine(restored, series=6, engine_id=2)
    assert value(reg, "tutka_detector_evaluations_total", detector="cusum") == 19


def test_published_alerts_are_counted_by_kind_and_by_ely_area() -> None:
    metrics = create_metrics()
    metrics.published(alert("KU240", severity=Severity.CRITICAL))
    metrics.published(alert("SSS", status=AlertStatus.RESOLVED))
    reg = metrics.registry
    assert value(reg, "tutka_alerts_total", status="open", kind="unemployment",
                 polarity="negative", severity="critical") == 1  # fmt: skip
    assert value(reg, "tutka_alerts_by_ely_total", status="open", ely="ELY15",
                 polarity="negative") == 1  # fmt: skip
    assert value(reg, "tutka_alerts_by_ely_total", status="resolved", ely="SSS",
                 polarity="negative") == 1  # fmt: skip


def test_the_picture_has_every_ely_area_and_the_worst_severity() -> None:
    rows = picture(
        [
            alert("KU240", severity=Severity.WATCH),
            alert("SK192", severity=Severity.CRITICAL, kind=AlertKind.VACANCIES),
            alert("KU905", polarity=Polarity.POSITIVE),
        ],
        ["ELY01", "ELY12", "ELY15"],
    )
    table = {(r.ely, r.polarity): (r.count, r.max_severity) for r in rows}
    assert table[("ELY15", "negative")] == (2, 3)
    assert table[("ELY12", "positive")] == (1, 2)
    assert table[("ELY01", "negative")] == (0, 0)
    assert table[("SSS", "positive")] == (0, 0)
    assert len(rows) == 2 * 4


def test_the_picture_gauges_follow_the_snapshot_and_vanish_when_released() -> None:
    metrics = create_metrics()
    metrics.show_picture([alert("KU240")], ["ELY15"])
    reg = metrics.registry
    assert value(reg, "tutka_picture_open_alerts", ely="ELY15", polarity="negative") == 1
    assert value(reg, "tutka_open_alerts", kind="unemployment", polarity="negative",
                 severity="warning") == 1  # fmt: skip
    assert value(reg, "tutka_picture_owner") == 1
    metrics.picture.clear()
    assert ("tutka_picture_open_alerts", (("ely", "ELY15"), ("polarity", "negative"))) not in (
        samples(reg)
    )
    assert value(reg, "tutka_picture_owner") == 0


def bigger(hierarchy: Hierarchy, extra_per_subregion: int) -> Hierarchy:
    """The shipped areas plus made-up municipalities under every sub-region."""
    areas = [hierarchy.get(code) for code in hierarchy.areas]
    used = {int(code[2:]) for code in hierarchy.areas if code.startswith("KU")}
    free = (n for n in range(1, 1000) if n not in used)
    for sk in hierarchy.of_level("SK"):
        for _ in range(extra_per_subregion):
            code = f"KU{next(free):03d}"
            areas.append(Area(code, f"Kunta {code}", f"Kommun {code}", f"Town {code}", sk))
    return Hierarchy(a for a in areas if a is not None)


#: The cardinality guard: series on a runner's /metrics (without faust's own sensors).
SERIES_BOUND = 600


@pytest.mark.slow
@pytest.mark.parametrize("extra", [0, 4])
def test_the_metrics_stay_under_a_fixed_number_of_series_whatever_the_number_of_areas(
    extra: int, tmp_path: Path
) -> None:
    hierarchy = bigger(load_hierarchy(), extra)
    write(generate(seed=3, start="2018-01", end="2021-06", hierarchy=hierarchy), tmp_path)
    observer = Observer.create(hierarchy, None, AlertmanagerSettings())
    result = replay([tmp_path], hierarchy, load_catalogue(), localized_sector_names(),
                    observer=observer)  # fmt: skip
    observer.close()
    series = samples(observer.metrics.registry)
    assert len(result.latest()) > 10, "the run should have raised alerts to count"
    assert len(series) <= SERIES_BOUND, sorted({name for name, _ in series})
    areas_in_labels = {v for _, labels in series for _, v in labels if v.startswith(("KU", "SK"))}
    assert not areas_in_labels, "no label may name a municipality or sub-region"
    assert value(observer.metrics.registry, "tutka_series_tracked") == len(result.engine.series)


def test_freshness_says_which_month_was_processed_and_when_its_release_came() -> None:
    from datetime import UTC, date, datetime

    registry = CollectorRegistry()
    metrics = create_metrics(registry)
    metrics.freshness(2023 * 12 + 9, None, date(2023, 11, 25))  # October 2023, published 25 Nov
    october = datetime(2023, 10, 1, tzinfo=UTC).timestamp()
    published = datetime(2023, 11, 25, tzinfo=UTC).timestamp()
    assert value(registry, "tutka_latest_period_timestamp_seconds", source="figures") == october
    assert value(registry, "tutka_latest_release_timestamp_seconds", source="figures") == published
