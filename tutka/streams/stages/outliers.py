"""The outlier stage: every area of a level judged at once against one pooled model.

Each area's labour-market picture — year-on-year change of unemployment and vacancies, momentum,
the change in the laid-off share — is taken relative to the country and standardised by its own
counting noise, so a nationwide shock is not local and areas of every size share one model (a
:class:`~tutka.detectors.base.PooledDetector`, configured in the catalogue).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Final

from tutka.detectors.base import Assessment, PooledDetector
from tutka.detectors.registry import pooled_detector
from tutka.models.alerts import AlertKind, Polarity
from tutka.models.areas import COUNTRY
from tutka.models.codes import AreaLevel
from tutka.streams.signals import SeriesKey, Signal
from tutka.streams.stages.context import EngineContext
from tutka.streams.stages.detection import LAID_OFF, OPEN_VACANCIES, UNEMPLOYED
from tutka.streams.stages.state import EngineState

LABOUR_MARKET: Final = "labour_market"
#: Variation of log changes beyond counting noise (business cycle, reporting), as a floor.
FEATURE_NOISE_FLOOR: Final = 0.05


@dataclass(frozen=True, slots=True)
class Features:
    """An area's labour-market picture in one period, and the noise of each feature."""

    unemployed: float
    unemployed_year_ago: float
    yoy_unemployment: float
    yoy_vacancies: float
    momentum: float
    laid_off_share_change: float
    noise: tuple[float, float, float, float]

    def relative_to(self, country: Features) -> tuple[float, ...]:
        """The area's picture relative to the country, in units of its own noise.

        Relative, so a nationwide shock is not local; standardised, so areas of every size
        share one pooled model.
        """
        differences = (
            self.yoy_unemployment - country.yoy_unemployment,
            self.yoy_vacancies - country.yoy_vacancies,
            self.momentum - country.momentum,
            self.laid_off_share_change - country.laid_off_share_change,
        )
        return tuple(d / n for d, n in zip(differences, self.noise, strict=True))


def outlier_signals(
    state: EngineState, ctx: EngineContext, period: int, available_on: date
) -> list[Signal]:
    """The signals of areas that stand out from the rest of their level in ``period``."""
    country = features(state, COUNTRY, period)
    if country is None:
        return []
    signals: list[Signal] = []
    for level in ctx.catalogue.outlier.levels:
        signals.extend(_outliers_at(state, ctx, level, period, country, available_on))
    return signals


def _outliers_at(
    state: EngineState,
    ctx: EngineContext,
    level: AreaLevel,
    period: int,
    country: Features,
    available_on: date,
) -> list[Signal]:
    rows = []
    for area in ctx.areas_of_level(level):
        area_features = features(state, area, period)
        if area_features is not None:
            rows.append((area, area_features, area_features.relative_to(country)))
    if not rows:
        return []
    detector = _detector(state, ctx, level)
    vectors = [vector for _, _, vector in rows]
    assessments = detector.assess_many(vectors)
    ready = detector.ready
    detector.update_many(vectors)
    state.stats.evaluations[detector.name] += len(vectors)
    signals = []
    for (area, area_features, vector), assessment in zip(rows, assessments, strict=True):
        if ready and assessment.score >= detector.params.threshold:
            state.stats.signals[detector.name] += 1
            signals.append(
                _signal(
                    ctx,
                    detector,
                    area,
                    area_features,
                    vector,
                    assessment,
                    country,
                    period,
                    available_on,
                )
            )
    return signals


def _detector(state: EngineState, ctx: EngineContext, level: AreaLevel) -> PooledDetector:
    detector = state.outliers.get(level)
    if detector is None:
        name = ctx.catalogue.outlier.detector
        detector = pooled_detector(name, ctx.catalogue.detectors.get(name, {}))
        state.outliers[level] = detector
    return detector


def _signal(
    ctx: EngineContext,
    detector: PooledDetector,
    area: str,
    area_features: Features,
    vector: tuple[float, ...],
    assessment: Assessment,
    country: Features,
    period: int,
    available_on: date,
) -> Signal:
    rel_unemployment, rel_vacancies = vector[0], vector[1]
    # Worse = unemployment up or vacancies down relative to the country.
    worse = rel_unemployment if abs(rel_unemployment) >= abs(rel_vacancies) else -rel_vacancies
    expected = (area_features.unemployed_year_ago + 1) * math.exp(country.yoy_unemployment) - 1
    return Signal(
        series=SeriesKey(area, LABOUR_MARKET),
        kind=AlertKind.OUTLIER,
        polarity=Polarity.NEGATIVE if worse > 0 else Polarity.POSITIVE,
        detector=ctx.catalogue.outlier.detector,
        period=period,
        value=area_features.unemployed,
        baseline=expected,
        score=assessment.score,
        threshold=detector.params.threshold,
        direction=1 if area_features.unemployed >= expected else -1,
        available_on=available_on,
    )


def features(state: EngineState, area: str, period: int) -> Features | None:
    """``area``'s picture in ``period``; None without the unemployment figures it needs."""
    unemployed = state.series.get(SeriesKey(area, UNEMPLOYED))
    if unemployed is None:
        return None
    u = [unemployed.value(period - lag) for lag in (0, 3, 12, 15)]
    if any(v is None for v in u):
        return None
    u0, u3, u12, u15 = (float(v) for v in u if v is not None)
    v0, v12 = _pair(state, SeriesKey(area, OPEN_VACANCIES), period)
    l0, l12 = _pair(state, SeriesKey(area, LAID_OFF), period)
    return Features(
        unemployed=u0,
        unemployed_year_ago=u12,
        yoy_unemployment=math.log((u0 + 1) / (u12 + 1)),
        yoy_vacancies=math.log((v0 + 1) / (v12 + 1)) if v0 is not None and v12 is not None else 0.0,
        momentum=math.log((u0 + 1) / (u3 + 1)) - math.log((u12 + 1) / (u15 + 1)),
        laid_off_share_change=(
            l0 / max(u0, 1) - l12 / max(u12, 1) if l0 is not None and l12 is not None else 0.0
        ),
        # Each feature's noise: counting noise plus a floor for everything else, so that a
        # small municipality's jitter does not look like a large area's structural change.
        noise=(
            _noise(u0, u12),
            _noise(v0, v12) if v0 is not None and v12 is not None else 1.0,
            _noise(u0, u3, u12, u15),
            math.sqrt(0.01**2 + l0 / (u0 + 1) ** 2 + l12 / (u12 + 1) ** 2)
            if l0 is not None and l12 is not None
            else 1.0,
        ),
    )


def _pair(state: EngineState, key: SeriesKey, period: int) -> tuple[float | None, float | None]:
    """A series' value now and a year earlier (None where missing)."""
    series = state.series.get(key)
    if series is None:
        return None, None
    return series.value(period), series.value(period - 12)


def _noise(*counts: float) -> float:
    return math.sqrt(FEATURE_NOISE_FLOOR**2 + sum(1.0 / (c + 1.0) for c in counts))
