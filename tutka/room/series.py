"""Recent figures of every series, for the evidence charts (the room's own copy: it may run
far from the engine, on Kafka).

>>> from datetime import date
>>> from tutka.models.events import UnemploymentReported
>>> store = SeriesStore(months=3)
>>> for month, n in (("2024-01", 100), ("2024-02", 110), ("2024-03", 120), ("2024-04", 130)):
...     store.add(UnemploymentReported(area="MK19", period=month,
...         measure="unemployed_jobseekers", value=float(n), published=date(2024, 5, 1)))
>>> store.values("MK19/unemployed_jobseekers")
{'2024-02': 110.0, '2024-03': 120.0, '2024-04': 130.0}
"""

from __future__ import annotations

import threading
from typing import Final

from tutka.models.codes import period_index, period_str
from tutka.models.events import Figure
from tutka.streams.engine import OPEN_VACANCIES, TIGHTNESS, UNEMPLOYED
from tutka.streams.signals import SeriesKey

#: Months kept per series: four years before an alert and a year after.
MONTHS: Final = 60


class SeriesStore:
    """The last ``months`` values of each series; a revised figure replaces the earlier one."""

    def __init__(self, months: int = MONTHS) -> None:
        self.months = months
        self._series: dict[str, dict[int, float]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._series)

    def add(self, figure: Figure) -> None:
        key = str(SeriesKey(figure.area, figure.measure.value, figure.sector, figure.occupation))
        period = period_index(figure.period)
        with self._lock:
            values = self._series.setdefault(key, {})
            values[period] = float(figure.value)
            if len(values) > self.months:
                for old in sorted(values)[: len(values) - self.months]:
                    del values[old]

    def values(self, series: str) -> dict[str, float]:
        """Values by period (``YYYY-MM``), oldest first; derived series are derived here."""
        try:
            key: SeriesKey | None = SeriesKey.parse(series)
        except ValueError:
            key = None
        if key is not None and key.measure == TIGHTNESS:
            return self._tightness(key)
        with self._lock:
            values = dict(self._series.get(series, {}))
        return {period_str(p): v for p, v in sorted(values.items())}

    def _tightness(self, key: SeriesKey) -> dict[str, float]:
        # Open vacancies per unemployed job-seeker, as the engine derives it.
        with self._lock:
            vacancies = dict(self._series.get(str(key.with_measure(OPEN_VACANCIES)), {}))
            unemployed = dict(self._series.get(str(key.with_measure(UNEMPLOYED)), {}))
        return {
            period_str(p): vacancies[p] / unemployed[p]
            for p in sorted(vacancies)
            if unemployed.get(p, 0) > 0
        }
