"""Notice burst: a surge of layoff notices in one area x sector, judged against its own history.

Layoff notices are sparse: most area x sector cells see none in a month, a few see one or two.
A burst shows in two ways, and either is enough:

* **more notices than usual.** The monthly number of notices is Poisson with an unknown rate; the
  rate gets a Gamma prior (``prior_rate`` notices a month, worth ``prior_weight`` months) and is
  updated with exponential forgetting, each older month discounted by ``1 - alpha``::

      shape = prior_weight * prior_rate + sum w * count      rate = prior_weight + sum w

  The predictive distribution of next month's count is negative binomial; ``p_count`` is its
  upper tail ``P(N >= count)``, computed with the pmf recurrence (counts are small).
* **more people than usual.** Monthly persons vary over orders of magnitude, so the detector keeps
  an exponentially weighted mean and variance (the same discount, empty months included) of
  ``log1p(persons)``; ``p_persons`` is the upper normal tail of
  ``z = (log1p(persons) - mean) / sqrt(max(var, persons_var_floor))``.

The score is ``max(-log10 p_count, -log10 p_persons)``: 3 means "rarer than one month in a
thousand". It is 0 when the tally affects fewer than ``headcount_floor`` persons: one five-person
notice in a tiny municipality is unusual but not a crisis. The default threshold, 3.5, is
stricter than p < 0.001 because a cell is assessed again after every notice of the month and
there are hundreds of cells.

The pipeline calls :meth:`NoticeBurst.assess` with the *month-to-date* tally after each new notice
(a burst is flagged the day it becomes visible; the score only rises as notices arrive) and
:meth:`NoticeBurst.update` once per completed month with the final tally, ``NoticeTally(0, 0)``
for a month without notices. The baseline is the expected persons per month: the discounted mean
of monthly persons (the discounted notice rate times the discounted mean notice size).

Example: background notices (each month up to four chances of a 5-40 person notice with
probability 0.1) and a closure wave of six notices, 480 persons, at month 60.

>>> import random
>>> rng = random.Random(3)
>>> def month(t):
...     count = sum(rng.random() < 0.1 for _ in range(4))
...     persons = sum(rng.randint(5, 40) for _ in range(count))
...     return NoticeTally(count + 6, persons + 480) if t == 60 else NoticeTally(count, persons)
>>> tallies = [month(t) for t in range(120)]
>>> det = NoticeBurst()
>>> [t for t, x in enumerate(tallies) if det.learn(x)[1]]
[60]

References: Kulldorff (2001) and Kulldorff et al. (2005) for Poisson count surveillance;
the Gamma-Poisson (negative binomial) predictive, e.g. Gelman et al., *Bayesian Data Analysis*,
ch. 2.6; exponential forgetting as in West & Harrison, *Bayesian Forecasting and Dynamic
Models* (discount factors).
"""

from __future__ import annotations

import math
from typing import ClassVar, NamedTuple

from pydantic import Field

from tutka.detectors.base import (
    Assessment,
    BaseDetector,
    DetectorParams,
    JSONObject,
    capped,
    integer,
    number,
)
from tutka.detectors.robust import normal_sf_log10

#: The negative binomial tail sum stops when a term adds less than this, relatively.
_TAIL_TOLERANCE = 1e-12
_TAIL_MAX_TERMS = 10_000


class NoticeTally(NamedTuple):
    """Layoff notices of one area x sector for one month (or the month so far)."""

    # The field shadows tuple.count(); the name is the pipeline's contract, and nothing here
    # counts tuple items.
    count: int  # type: ignore[assignment]
    persons: int


class NoticeBurstParams(DetectorParams):
    """Hyperparameters of :class:`NoticeBurst`: threshold, headcount floor, forgetting, priors."""

    threshold: float = Field(
        default=3.5, gt=0, description="alarm at this -log10 p (3.5: p < 0.0003)"
    )
    headcount_floor: int = Field(
        default=50, ge=0, description="tallies affecting fewer persons than this never score"
    )
    alpha: float = Field(
        default=0.03, gt=0, lt=1, description="forgetting per month (1/alpha: months of memory)"
    )
    prior_rate: float = Field(default=0.5, gt=0, description="prior notices per month")
    prior_weight: float = Field(default=2.0, ge=0.1, description="months the prior is worth")
    persons_var_floor: float = Field(
        default=2.0, gt=0, description="floor on the variance of log1p(persons)"
    )
    min_months: int = Field(default=3, ge=0, description="months learned before scoring")


def _check(tally: NoticeTally) -> tuple[int, int]:
    count, persons = tally
    if count < 0 or persons < 0:
        raise ValueError(f"a notice tally cannot be negative, got {tally!r}")
    if persons < count:
        raise ValueError(f"every notice affects at least one person, got {tally!r}")
    if count == 0 and persons:
        raise ValueError(f"persons without notices, got {tally!r}")
    return count, persons


def nb_tail_log10(count: int, shape: float, rate: float) -> float:
    """-log10 P(N >= count) for the Gamma(shape, rate)-Poisson (negative binomial) predictive.

    >>> round(nb_tail_log10(0, 2.0, 4.0), 6), round(nb_tail_log10(1, 2.0, 4.0), 4)
    (0.0, 0.4437)
    """
    if count <= 0:
        return 0.0
    q = 1.0 / (rate + 1.0)  # the chance of one more event, per step of the recurrence
    mean = shape / rate
    if count <= mean:
        # Not a tail: 1 - P(N < count) is accurate enough and needs only `count` terms.
        term = math.exp(shape * math.log(rate * q))
        below = 0.0
        for k in range(count):
            below += term
            term *= (k + shape) / (k + 1) * q
        return -math.log10(min(max(1.0 - below, 1e-300), 1.0))
    # A tail: sum the pmf upwards from `count` in logs; the terms fall once k passes the mean.
    log_pmf = (
        math.lgamma(count + shape)
        - math.lgamma(shape)
        - math.lgamma(count + 1)
        + shape * math.log(rate * q)
        + count * math.log(q)
    )
    total, term, k = 1.0, 1.0, count
    for _ in range(_TAIL_MAX_TERMS):
        term *= (k + shape) / (k + 1) * q
        total += term
        k += 1
        if term < _TAIL_TOLERANCE * total:
            break
    return max(-(log_pmf + math.log(total)) / math.log(10), 0.0)


class NoticeBurst(BaseDetector[NoticeTally, NoticeBurstParams]):
    """Flags a month whose notices or affected persons are improbably high for the cell."""

    name: ClassVar[str] = "notice_burst"
    Params: ClassVar[type[DetectorParams]] = NoticeBurstParams

    def __init__(self, params: NoticeBurstParams | None = None) -> None:
        super().__init__(params)
        self._counts = 0.0  # sum w * count
        self._weight = 0.0  # sum w
        self._persons = 0.0  # sum w * persons, for the baseline
        self._log_mean = 0.0  # weighted mean of log1p(persons)
        self._log_ss = 0.0  # weighted sum of squared deviations of log1p(persons)
        self._n = 0

    @property
    def ready(self) -> bool:
        """Whether ``min_months`` months have been learnt."""
        return self._n >= self.params.min_months

    @property
    def expected_persons(self) -> float:
        """Discounted mean persons per month (0 before any month is learned)."""
        return self._persons / self._weight if self._weight > 0 else 0.0

    def _scores(self, count: int, persons: int) -> tuple[float, float]:
        p = self.params
        shape = p.prior_weight * p.prior_rate + self._counts
        rate = p.prior_weight + self._weight
        count_score = nb_tail_log10(count, shape, rate)
        var = self._log_ss / self._weight if self._weight > 0 else 0.0
        z = (math.log1p(persons) - self._log_mean) / math.sqrt(max(var, p.persons_var_floor))
        return count_score, normal_sf_log10(z)

    def assess(self, x: NoticeTally) -> Assessment:
        """The stronger tail score (-log10 p) of the month's notices or persons; no state change."""
        count, persons = _check(x)
        baseline = self.expected_persons
        if not self.ready:
            return Assessment.quiet(baseline)
        direction = 1 if persons > baseline else -1 if persons < baseline else 0
        if persons < self.params.headcount_floor:
            return Assessment(0.0, baseline, direction)
        return Assessment(capped(max(self._scores(count, persons))), baseline, direction)

    def update(self, x: NoticeTally) -> None:
        """Learn a month's tally; earlier months weigh less by ``alpha`` each month."""
        count, persons = _check(x)
        keep = 1.0 - self.params.alpha
        self._counts = keep * self._counts + count
        self._persons = keep * self._persons + persons
        # West's (1979) weighted update of mean and squared deviations, with discounted weights.
        weight = keep * self._weight + 1.0
        y = math.log1p(persons)
        delta = y - self._log_mean
        self._log_mean += delta / weight
        self._log_ss = keep * self._log_ss + delta * (y - self._log_mean)
        self._weight = weight
        self._n += 1

    def _state(self) -> JSONObject:
        return {
            "counts": self._counts,
            "weight": self._weight,
            "persons": self._persons,
            "log_mean": self._log_mean,
            "log_ss": self._log_ss,
            "n": self._n,
        }

    def _load_state(self, state: JSONObject) -> None:
        self._counts = number(state["counts"])
        self._weight = number(state["weight"])
        self._persons = number(state["persons"])
        self._log_mean = number(state["log_mean"])
        self._log_ss = number(state["log_ss"])
        self._n = integer(state["n"])
