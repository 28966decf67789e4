"""Series keys, detector signals and release decisions: the values passed between pipeline steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from tutka.models.alerts import AlertKind, NoticeEvidence, Polarity, SignalEvidence
from tutka.models.codes import period_str

#: Builds a key from a full tuple without the named tuple's ``__new__`` (a Python function):
#: keys for other areas and measures are made for every figure of a replay.
_new_key = tuple.__new__


class SeriesKey(NamedTuple):
    """One monthly series: an area's measure, optionally for one sector or occupation.

    A named tuple rather than a dataclass: a replay builds and hashes millions of them, and a
    tuple does both in C.
    """

    area: str
    measure: str
    sector: str | None = None
    occupation: str | None = None

    def __str__(self) -> str:
        text = f"{self.area}/{self.measure}"
        if self.sector is not None:
            text += f"/tol:{self.sector}"
        if self.occupation is not None:
            text += f"/isco:{self.occupation}"
        return text

    @classmethod
    def parse(cls, text: str) -> SeriesKey:
        """The key of a series as :meth:`__str__` writes it (alerts name their series so).

        >>> SeriesKey.parse("KU240/unemployed_jobseekers/tol:17")
        SeriesKey(area='KU240', measure='unemployed_jobseekers', sector='17', occupation=None)
        >>> str(SeriesKey.parse("MK19/open_vacancies/isco:72")) == "MK19/open_vacancies/isco:72"
        True
        """
        parts = text.split("/")
        if len(parts) < 2:
            raise ValueError(f"not a series name: {text!r}")
        sector = next((p[4:] for p in parts[2:] if p.startswith("tol:")), None)
        occupation = next((p[5:] for p in parts[2:] if p.startswith("isco:")), None)
        return cls(parts[0], parts[1], sector, occupation)

    def with_area(self, area: str) -> SeriesKey:
        """The same series for another area."""
        return _new_key(SeriesKey, (area, self[1], self[2], self[3]))

    def with_measure(self, measure: str) -> SeriesKey:
        """The same series for another measure."""
        return _new_key(SeriesKey, (self[0], measure, self[2], self[3]))


def group_key(area: str, sector: str | None, occupation: str | None, kind: AlertKind) -> str:
    """Alerts are grouped by area + sector/occupation + kind; at most one is open per group."""
    return f"{area}|{sector or '-'}|{occupation or '-'}|{kind.value}"


@dataclass(frozen=True, slots=True)
class Signal:
    """A detector alarm on one series in one period, with what it expected instead."""

    series: SeriesKey
    kind: AlertKind
    polarity: Polarity
    detector: str
    period: int
    value: float
    baseline: float
    score: float
    threshold: float
    direction: int
    available_on: date
    notices: tuple[NoticeEvidence, ...] = ()
    notice_count: int = 0
    notice_persons: int = 0
    #: A local change that is not part of a broader one even if a broader alert is open.
    distinct: bool = False
    #: About how many years pass between changes this large in such an area (calibrated).
    once_in_years: float | None = None

    @property
    def area(self) -> str:
        """The area of the series that signalled."""
        return self.series.area

    @property
    def group(self) -> str:
        """The alert group this signal belongs to (area, sector/occupation and kind)."""
        return group_key(self.series.area, self.series.sector, self.series.occupation, self.kind)

    @property
    def excess(self) -> float:
        """How far the value is from what was expected, in the series' own units."""
        return abs(self.value - self.baseline)

    def evidence(self) -> SignalEvidence:
        """The signal as an alert's evidence entry (rounded, with the period as text)."""
        return SignalEvidence(
            detector=self.detector,
            series=str(self.series),
            area=self.series.area,
            measure=self.series.measure,
            period=period_str(self.period),
            value=round(self.value, 6),
            baseline=round(self.baseline, 6),
            score=round(self.score, 4),
            threshold=self.threshold,
            direction="up" if self.direction >= 0 else "down",
            once_in_years=None
            if self.once_in_years is None
            else _rounded_years(self.once_in_years),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """The release-level verdict on one alert group's signals in one period."""

    group: str
    kind: AlertKind
    polarity: Polarity
    area: str
    sector: str | None
    occupation: str | None
    period: int
    signals: tuple[Signal, ...]
    accepted: bool
    reason: str
    also_in: tuple[str, ...] = ()
    #: For a signal not reported on its own: the alert group it belongs to instead.
    target: str | None = None

    @property
    def available_on(self) -> date:
        """The day the last of the decision's signals became available."""
        return max(s.available_on for s in self.signals)


def _rounded_years(years: float) -> float:
    """Rarity to two significant figures (1.0e9 for "never seen"): a plain-language figure."""
    if years == float("inf") or years > 1e9:
        return 1e9
    return float(f"{years:.2g}")
