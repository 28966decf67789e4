"""The latent market: expected levels per municipality and month, and counts sampled around them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from tutka.models.events import UnemploymentMeasure, VacancyMeasure
from tutka.synthetic.calendar import _ANCHOR, _FOREIGN_ANCHOR, _Timeline
from tutka.synthetic.dataset import Floats, Ints
from tutka.synthetic.municipalities import MunicipalityProfile
from tutka.synthetic.randomness import _ar1, _gamma_poisson, _rng, _Stream
from tutka.synthetic.seasonality import (
    _LAID_OFF_SEASON,
    _NEW_VACANCY_SEASON,
    _UNEMPLOYMENT_SEASON,
    _VACANCY_SEASON,
    _YOUTH_SEASON,
)

_CORE_DISPERSION: Final = 3000.0  # gamma-Poisson shape: mild over-dispersion of the stock
_LAID_OFF_DISPERSION: Final = 200.0  # layoffs come in employer-sized lumps
_VACANCY_DISPERSION: Final = 150.0  # one employer may post dozens of openings


@dataclass(frozen=True)
class _Expected:
    """Expected stocks per municipality and month (municipalities x months), before count noise."""

    core: Floats  # unemployed other than the full-time laid off
    laid_off: Floats
    vacancies: Floats
    new_vacancies: Floats

    @property
    def unemployed(self) -> Floats:
        return self.core + self.laid_off


@dataclass(frozen=True)
class _Market:
    labour_force: Ints  # annual figure repeated monthly
    cycle: Floats  # national log-multiplier of unemployment (months)
    sensitivity: Floats  # per municipality
    expected: _Expected
    under_25: Floats  # shares of the unemployed
    under_30: Floats
    over_54: Floats
    foreign: Floats
    long_term: Floats  # per municipality: long-term unemployed per core unemployed a year earlier


def _business_cycle(seed: int, months: Ints) -> Floats:
    """Slow national swings over years plus a small shared irregular component."""
    rng = _rng(seed, _Stream.NATIONAL)
    t = (months - _ANCHOR).astype(np.float64)
    # Amplitudes in log units: the rate swings by up to +-15 % around its level over 7-11 years,
    # changing by at most about 15 % a year (Finland 2015-2018 fell about that fast).
    long_wave = rng.uniform(0.08, 0.13) * np.sin(
        2 * np.pi * t / rng.uniform(84, 132) + rng.uniform(0, 2 * np.pi)
    )
    short_wave = rng.uniform(0.02, 0.04) * np.sin(
        2 * np.pi * t / rng.uniform(36, 60) + rng.uniform(0, 2 * np.pi)
    )
    shared_noise = _ar1(rng.normal(0.0, 0.006, size=months.shape), 0.7)
    return long_wave + short_wave + shared_noise


@dataclass(frozen=True)
class _LocalDraws:
    """One municipality's random character, drawn from its own stream in a fixed order."""

    sensitivity: float  # to the national business cycle
    rate_slope: float  # slow local drift of the unemployment rate, per year (log)
    lf_growth: float  # labour force growth per year: cities grow, villages shrink
    vacancy_level: float  # open vacancies per labour force at a neutral cycle
    vacancy_slope: float
    new_ratio: float  # new vacancies a month per open vacancy
    laid_share: float  # full-time laid off among the unemployed
    rate_walk: Floats  # months: a slow random walk of the rate (log)
    rate_noise: Floats  # months: innovations of the autocorrelated irregular component
    vacancy_noise: Floats
    lf_walk: Floats  # years: the labour force's own wander

    @classmethod
    def draw(cls, seed: int, p: MunicipalityProfile, months: int, years: int) -> _LocalDraws:
        rng = _rng(seed, _Stream.MARKET, p.number)
        return cls(
            sensitivity=p.cycle_sensitivity * rng.uniform(0.9, 1.1),
            rate_slope=rng.normal(0.0, 0.01),
            lf_growth=-0.008 + 0.014 * p.size + rng.normal(0.0, 0.003),
            vacancy_level=p.vacancy_rate * math.exp(rng.normal(0.0, 0.15)),
            vacancy_slope=rng.normal(0.0, 0.01),
            new_ratio=rng.uniform(0.95, 1.3),
            laid_share=p.laid_off_share * rng.uniform(0.9, 1.1),
            rate_walk=np.cumsum(rng.normal(0.0, 0.002, size=months)),
            rate_noise=rng.normal(0.0, 0.009, size=months),
            vacancy_noise=rng.normal(0.0, 0.04, size=months),
            lf_walk=np.cumsum(rng.normal(0.0, 0.004, size=years)),
        )


def _column(values: Iterable[float]) -> Floats:
    """Per-municipality scalars as a column, to broadcast over months."""
    return np.array(list(values), dtype=np.float64)[:, None]


def _simulate_market(
    seed: int, profiles: Sequence[MunicipalityProfile], timeline: _Timeline
) -> _Market:
    """Expected stocks before injections, plus the shares that split the unemployed into groups."""
    months = timeline.months
    season = months % 12
    years = (months - _ANCHOR) / 12.0
    calendar_year = months // 12
    first_year, anchor_year = int(calendar_year[0]), _ANCHOR // 12
    cycle = _business_cycle(seed, months)
    n_years = int(calendar_year[-1]) - first_year + 1
    draws = [_LocalDraws.draw(seed, p, len(months), n_years) for p in profiles]

    # Levels are pinned at the anchor (2019): walks wander away from it in both directions.
    rate_walk = np.vstack([d.rate_walk for d in draws])
    rate_walk -= rate_walk[:, [_ANCHOR - timeline.sim_first]]
    lf_walk = np.vstack([d.lf_walk for d in draws])
    lf_walk -= lf_walk[:, [anchor_year - first_year]]
    labour_force = np.round(
        _column(p.labour_force for p in profiles)
        * np.exp(
            _column(d.lf_growth for d in draws) * (calendar_year - anchor_year)
            + lf_walk[:, calendar_year - first_year]
        )
    )
    sensitivity = _column(d.sensitivity for d in draws)
    log_rate = (
        np.log(_column(p.unemployment_rate for p in profiles))
        + sensitivity * cycle
        + _column(d.rate_slope for d in draws) * years
        + rate_walk
        + _column(p.season_amplitude for p in profiles) * _UNEMPLOYMENT_SEASON[season]
        + _ar1(np.vstack([d.rate_noise for d in draws]), 0.6)
    )
    unemployed = labour_force * np.clip(np.exp(log_rate), 0.005, 0.4)
    # Temporary layoffs swing harder with the cycle than unemployment as a whole.
    laid_share = np.clip(
        _column(d.laid_share for d in draws)
        * np.exp(_LAID_OFF_SEASON[season] + 1.5 * sensitivity * cycle),
        0.01,
        0.3,
    )
    vacancy_noise = _ar1(np.vstack([d.vacancy_noise for d in draws]), 0.6)
    log_vacancies = (
        np.log(_column(d.vacancy_level for d in draws))
        - 1.3 * sensitivity * cycle  # tightness moves against unemployment
        + (0.04 + _column(d.vacancy_slope for d in draws)) * years  # ever more ads online
    )
    expected = _Expected(
        core=unemployed * (1.0 - laid_share),
        laid_off=unemployed * laid_share,
        vacancies=labour_force * np.exp(log_vacancies + _VACANCY_SEASON[season] + vacancy_noise),
        new_vacancies=_column(d.new_ratio for d in draws)
        * labour_force
        * np.exp(log_vacancies + _NEW_VACANCY_SEASON[season] + 0.5 * vacancy_noise),
    )
    youth = _column(p.youth_share for p in profiles) * np.exp(_YOUTH_SEASON[season])
    foreign_trend = np.exp(0.055 * (months - _FOREIGN_ANCHOR) / 12.0)
    return _Market(
        labour_force=labour_force.astype(np.int64),
        cycle=cycle,
        sensitivity=sensitivity[:, 0],
        expected=expected,
        under_25=youth,
        under_30=youth + 0.10,
        # An ageing population: a slowly growing share of the unemployed is over 54.
        over_54=np.clip(
            _column(p.senior_share for p in profiles) * np.exp(0.01 * years), 0.05, 0.45
        ),
        foreign=np.clip(
            _column(p.foreign_share_2012 for p in profiles) * foreign_trend, 0.005, 0.45
        ),
        long_term=np.array([p.long_term_share for p in profiles]),
    )


def _lagged_mean(values: Floats, nearest: int, farthest: int) -> Floats:
    """Mean over months t-farthest..t-nearest along the last axis (edge-padded at the start)."""
    padded = np.concatenate([np.repeat(values[:, :1], farthest, axis=1), values], axis=1)
    cumulative = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(padded, axis=1)], axis=1)
    n = values.shape[1]
    upper = cumulative[:, farthest - nearest + 1 : farthest - nearest + 1 + n]
    mean: Floats = (upper - cumulative[:, :n]) / (farthest - nearest + 1)
    return mean


Measure = UnemploymentMeasure | VacancyMeasure
_MEASURES: Final[tuple[Measure, ...]] = (*UnemploymentMeasure, *VacancyMeasure)


def _sample_counts(
    seed: int, profiles: Sequence[MunicipalityProfile], market: _Market, expected: _Expected
) -> dict[Measure, Ints]:
    """Draw every municipal figure (municipalities x months) from its expectation."""
    long_term_expected = market.long_term[:, None] * _lagged_mean(expected.core, 6, 18)
    long_term_p = np.clip(long_term_expected / np.maximum(expected.core, 1e-9), 0.0, 0.9)
    over_54_p = market.over_54 / (1.0 - market.under_30)
    under_30_p = (market.under_30 - market.under_25) / (1.0 - market.under_25)
    columns: dict[Measure, list[Ints]] = {m: [] for m in _MEASURES}
    for j, p in enumerate(profiles):

        def stream(measure: int, number: int = p.number) -> np.random.Generator:
            return _rng(seed, _Stream.COUNTS, number, measure)

        core = _gamma_poisson(stream(0), expected.core[j], _CORE_DISPERSION)
        laid_off = _gamma_poisson(stream(1), expected.laid_off[j], _LAID_OFF_DISPERSION)
        unemployed = core + laid_off
        under_25 = stream(3).binomial(unemployed, market.under_25[j]).astype(np.int64)
        under_30 = under_25 + stream(4).binomial(unemployed - under_25, under_30_p[j]).astype(
            np.int64
        )
        measures = columns
        measures[UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS].append(unemployed)
        measures[UnemploymentMeasure.LABOUR_FORCE].append(market.labour_force[j])
        measures[UnemploymentMeasure.FULL_TIME_LAID_OFF].append(laid_off)
        # The laid off keep their jobs: only the core unemployed can become long-term unemployed.
        measures[UnemploymentMeasure.LONG_TERM_UNEMPLOYED].append(
            stream(2).binomial(core, long_term_p[j]).astype(np.int64)
        )
        measures[UnemploymentMeasure.UNDER_25].append(under_25)
        measures[UnemploymentMeasure.UNDER_30].append(under_30)
        measures[UnemploymentMeasure.OVER_54].append(
            stream(5).binomial(unemployed - under_30, over_54_p[j]).astype(np.int64)
        )
        measures[UnemploymentMeasure.FOREIGN_LANGUAGE].append(
            stream(6).binomial(unemployed, market.foreign[j]).astype(np.int64)
        )
        measures[VacancyMeasure.OPEN_AT_MONTH_END].append(
            _gamma_poisson(stream(7), expected.vacancies[j], _VACANCY_DISPERSION)
        )
        measures[VacancyMeasure.NEW_IN_MONTH].append(
            _gamma_poisson(stream(8), expected.new_vacancies[j], _VACANCY_DISPERSION)
        )
    return {measure: np.vstack(rows).astype(np.int64) for measure, rows in columns.items()}
