"""Small hand-made hierarchies and signals for the pipeline tests."""

from __future__ import annotations

from datetime import date

from tutka.models.alerts import AlertKind, Polarity
from tutka.models.areas import Area, Hierarchy
from tutka.streams.signals import SeriesKey, Signal


def small_hierarchy() -> Hierarchy:
    """Country; two ELY areas: ELY01 = MK01 alone, ELY15 = MK19 with two sub-regions."""
    rows = [
        ("SSS", None), ("ELY01", "SSS"), ("MK01", "ELY01"), ("ELY15", "SSS"), ("MK19", "ELY15"),
        ("SK191", "MK19"), ("SK192", "MK19"), ("KU698", "SK191"), ("KU240", "SK192"),
        ("KU751", "SK192"), ("KU851", "SK192"),
    ]  # fmt: skip
    return Hierarchy(
        Area(code, f"fi {code}", f"sv {code}", f"en {code}", parent) for code, parent in rows
    )


def signal(
    area: str,
    value: float,
    baseline: float,
    detector: str = "seasonal_baseline",
    period: int = 2023 * 12 + 4,
    polarity: Polarity = Polarity.NEGATIVE,
    kind: AlertKind = AlertKind.UNEMPLOYMENT,
    sector: str | None = None,
) -> Signal:
    return Signal(
        series=SeriesKey(area, "unemployed_jobseekers", sector),
        kind=kind,
        polarity=polarity,
        detector=detector,
        period=period,
        value=value,
        baseline=baseline,
        score=6.0,
        threshold=4.0,
        direction=1 if value >= baseline else -1,
        available_on=date(period // 12, period % 12 + 1, 1),
    )
