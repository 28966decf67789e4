"""BOCPD: Bayesian online change-point detection on a deseasonalised count (Adams & MacKay 2007).

Method. A :class:`~tutka.detectors.deseasonalise.Deseasonaliser` turns each count ``y`` into
``u = log(y + c)`` and removes its month's seasonal offset; the result is standardised by the
warm-up level and scale into ``v``, so the prior below is unit-free. The series of ``v`` is
modelled as segments, each with its own unknown mean and precision under a Normal-Gamma prior,
so the predictive of the next value is a Student t. The run length ``r`` is the number of
observations in the current segment; a new segment starts with constant hazard
``H = 1 / expected_run``. The posterior over ``r`` is updated exactly, one observation at a time:

    P(r + 1 | v_1..t) ∝ P(r | v_1..t-1) · t_r(v_t) · (1 - H),    P(0 | v_1..t) = H,

where ``t_r`` is the predictive given the last ``r`` values. Run lengths stop at ``max_run``: the
last bin keeps the tail mass and the statistics of the last ``max_run`` values (a sliding
window), so the state is about ``3 (max_run + 1)`` numbers and a slow drift is followed rather
than accumulated. The warm-up seeds one segment. The prior of a new segment is centred on the
current level (the posterior mean of the segment means), so a jump is judged by its size, not by
how far the level has wandered since the warm-up. The seasonal offsets keep learning (EWMA)
against the level expected for each observation.

Score: the posterior probability that the segment holding ``x`` began within the last ``window``
observations, ``x`` included: ``P(r < window | data including x)`` with ``r`` the run length
before ``x``. It is a probability in [0, 1], and so is ``threshold``. A clear shift scores near 1
for ``window`` months and then falls back, because the new segment has become the normal, so one
shift gives at most ``window`` alarms in a row. ``baseline`` is what was expected before the
window began (the predictive mean then, back in counts, with this month's seasonal offset), so
all alarms of one shift compare against the old level; ``direction`` is the sign of ``x``
against it.

Counting noise: with ``count_noise``, a count below its expected value has its deviation
shrunk by the ratio of Poisson standard deviations at the expected and at the observed count,
where that noise exceeds the warm-up scale: the log stretches the lower tail of small counts
(6 where 20 were expected is not a four-sigma event).

Limits. BOCPD needs the change to stand out within ``window`` months: with the defaults it
reports shifts of about four noise standard deviations or more (a 35 % jump in a series with
3 % noise at once) and misses most two-sigma shifts, which CUSUM catches. In simulations of the
series below, stationary series gave 4 alarms in 180 000 months, and a 3 %/year trend an alarm
in 4 of 100 twenty-year series.

Parameters: see :class:`BOCPDParams`.

Example: a seasonal monthly count of about 2 000 that is 25 % higher from month 60 to month 99.
Each change gives ``window`` (3) alarms; the fall back is certain only one month late.

>>> import math, random
>>> rng = random.Random(7)
>>> def level(t):
...     return 2000 * (1 + 0.15 * math.sin(2 * math.pi * t / 12)) * (1.25 if 60 <= t < 100 else 1)
>>> xs = [round(rng.gauss(level(t), 1.5 * math.sqrt(level(t)))) for t in range(144)]
>>> det = BOCPD()
>>> [(t, a.direction) for t, (a, alarm) in enumerate(map(det.learn, xs)) if alarm]
[(60, 1), (61, 1), (62, 1), (101, -1), (102, -1)]

References: R. P. Adams & D. J. C. MacKay (2007), "Bayesian online changepoint detection",
arXiv:0710.3742; K. P. Murphy (2007), "Conjugate Bayesian analysis of the Gaussian
distribution" (Normal-Gamma updates, Student-t predictive); P. Fearnhead & Z. Liu (2007),
"On-line inference for multiple changepoint problems", JRSS B 69(4) (bounding run lengths).
"""

from __future__ import annotations

import math
from collections import deque
from functools import lru_cache
from typing import ClassVar, NamedTuple

from pydantic import Field, model_validator

from tutka.detectors.base import (
    Assessment,
    BaseDetector,
    DetectorParams,
    JSONObject,
    capped,
    floats,
    number,
)
from tutka.detectors.deseasonalise import DeseasonalisedParams, Deseasonaliser


class BOCPDParams(DeseasonalisedParams):
    """Hyperparameters of :class:`BOCPD`: the deseasonaliser's, the prior, hazard and window."""

    threshold: float = Field(
        default=0.9, gt=0, le=1, description="alarm when P(change within window) reaches this"
    )
    expected_run: float = Field(
        default=600.0, ge=2, le=1e6, description="prior mean segment length (hazard = 1/this)"
    )
    window: int = Field(
        default=3,
        ge=1,
        le=24,
        description="a change counts if it began this many steps ago or less",
    )
    max_run: int = Field(
        default=36, ge=4, le=600, description="longest run length tracked; bounds state and memory"
    )
    count_noise: bool = Field(
        default=True, description="shrink deviations of low counts to their Poisson noise"
    )
    min_scale: float = Field(
        default=0.005, gt=0, description="floor on the warm-up scale that standardises the series"
    )
    prior_kappa: float = Field(
        default=0.05,
        gt=0,
        le=100,
        description="pseudo-observations behind a new segment's mean (prior sd: sigma/sqrt(this))",
    )
    prior_alpha: float = Field(
        default=3.0, gt=0.5, le=1000, description="Gamma shape of the segment precision"
    )
    prior_beta: float = Field(
        default=2.0,
        gt=0,
        le=1000,
        description="Gamma rate; beta/(alpha-1) is the prior noise variance in warm-up units",
    )
    protect: bool = Field(
        default=True, description="alarmed points do not teach the seasonal offsets"
    )

    @model_validator(mode="after")
    def _window_within_runs(self) -> BOCPDParams:
        if self.window > self.max_run:
            raise ValueError(f"window ({self.window}) cannot exceed max_run ({self.max_run})")
        return self


class _Tables(NamedTuple):
    gain: tuple[float, ...]
    exponents: tuple[float, ...]
    const: tuple[float, ...]
    kappas: tuple[float, ...]
    inv_kappas: tuple[float, ...]
    inv_runs: tuple[float, ...]


@lru_cache(maxsize=64)
def _tables(p: BOCPDParams) -> _Tables:
    """The prior's per-run-length tables (a pipeline holds one BOCPD per series: share them)."""
    size = p.max_run + 1
    kappas = [p.prior_kappa + r for r in range(size)]
    shapes = [p.prior_alpha + r / 2 for r in range(size)]
    return _Tables(
        gain=tuple(k / (2 * (k + 1)) for k in kappas),
        exponents=tuple(-(a + 0.5) for a in shapes),
        const=tuple(
            math.exp(math.lgamma(a + 0.5) - math.lgamma(a)) * math.sqrt(k / (2 * math.pi * (k + 1)))
            for a, k in zip(shapes, kappas, strict=True)
        ),
        kappas=tuple(kappas),
        inv_kappas=tuple(1.0 / k for k in kappas),
        inv_runs=(0.0, *(1.0 / r for r in range(1, size))),
    )


class BOCPD(BaseDetector[float, BOCPDParams]):
    """Bayesian online change-point detection on a deseasonalised count (see the module)."""

    name: ClassVar[str] = "bocpd"
    Params: ClassVar[type[DetectorParams]] = BOCPDParams

    def __init__(self, params: BOCPDParams | None = None) -> None:
        super().__init__(params)
        p = self.params
        self._model = Deseasonaliser(
            p.season, p.warmup, p.offset, p.log, alpha_level=0.0, alpha_season=p.alpha_season
        )
        size = p.max_run + 1
        self._hazard = 1.0 / p.expected_run
        # Per run length r: tables fixed by the prior (kappa_r, t-density constant, exponent),
        # shared by every detector with the same hyperparameters.
        tables = _tables(p)
        self._gain, self._exponents, self._const = tables.gain, tables.exponents, tables.const
        self._kappas, self._inv_kappas = tables.kappas, tables.inv_kappas
        self._inv_runs = tables.inv_runs
        # State: run-length posterior and sums of the last r standardised values, per r.
        self._ref = 0.0  # warm-up level (deseasonalised units)
        self._scale = 1.0  # warm-up scale
        self._probs = [0.0] * size
        # Predictive means of v before each of the last window - 1 observations: the oldest is
        # what was expected before the window began, the baseline an alarm reports.
        self._before: deque[float] = deque(maxlen=p.window - 1)
        self._sum1 = [0.0] * size
        self._sum2 = [0.0] * size
        # Derived from the state (recomputed after every update and on restore).
        self._means = [0.0] * size
        self._spreads = [0.0] * size
        self._weights = [0.0] * size
        self._mean = 0.0  # predictive mean of v

    @property
    def ready(self) -> bool:
        """Whether the warm-up is over (the deseasonaliser has fitted its level and offsets)."""
        return self._model.ready

    # -- the model ---------------------------------------------------------------------------
    def _standardise(self, x: float) -> tuple[float, float, float]:
        """(transformed x, its expected value, standardised deseasonalised value v)."""
        model, p = self._model, self.params
        u = model.transform(x)
        expected = model.seasonal() + self._ref + self._scale * self._mean
        deviation = u - expected
        if p.count_noise and deviation < 0:
            # Deviation in units of max(scale, counting noise at the lower count), times scale.
            nominal = max(self._scale, math.sqrt(model.count_variance(expected, expected)))
            actual = max(self._scale, math.sqrt(model.count_variance(expected, u)))
            deviation *= nominal / actual
        return u, expected, self._mean + deviation / self._scale

    def _likelihoods(self, v: float) -> list[float]:
        """P(r) x Student-t predictive density of v, for every run length r."""
        # t density = weight x (1 + (v - m)² x spread) ** -(alpha + 1/2); weight holds P(r)
        return [
            w * (1.0 + (d := v - m) * d * q) ** e
            for w, m, q, e in zip(
                self._weights, self._means, self._spreads, self._exponents, strict=True
            )
        ]

    def _score(self, joint: list[float]) -> float:
        total = sum(joint)
        if not total > 0 or math.isinf(total):
            return 1.0  # nothing explains x (only reachable with absurd inputs): a change
        return sum(joint[: self.params.window]) / total

    def assess(self, x: float) -> Assessment:
        """P(a change point in the last ``window`` observations) given ``x``; no state changes."""
        if not self.ready:
            return Assessment.quiet(x)
        u, _, v = self._standardise(x)
        return self._assessment(u, self._score(self._likelihoods(v)))

    def _assessment(self, u: float, score: float) -> Assessment:
        before = self._before[0] if self._before else self._mean
        baseline = self._model.seasonal() + self._ref + self._scale * before
        direction = 1 if u >= baseline else -1
        return Assessment(capped(score), self._model.inverse(baseline), direction)

    def learn(self, x: float) -> tuple[Assessment, bool]:
        """Assess then update with one pass over the run lengths (the same result as both)."""
        # assess + update, sharing the one pass over run lengths
        if not self.ready:
            self.update(x)
            return Assessment.quiet(x), False
        u, _, v = self._standardise(x)
        joint = self._likelihoods(v)
        assessment = self._assessment(u, self._score(joint))
        alarm = self.is_alarm(assessment)
        self._fold(u, v, joint, alarm)
        return assessment, alarm

    def update(self, x: float) -> None:
        """Fold ``x`` into the run-length posterior (in the warm-up, into the deseasonaliser)."""
        model = self._model
        if not self.ready:
            warm = model.update(model.transform(x))
            if warm:
                self._start(warm)
            return
        u, _, v = self._standardise(x)
        joint = self._likelihoods(v)
        self._fold(u, v, joint, capped(self._score(joint)) >= self.params.threshold)

    def _start(self, warm: list[float]) -> None:
        """Seed the run-length posterior with the warm-up as one segment."""
        model, p = self._model, self.params
        self._ref = model.level
        floor = math.sqrt(model.count_variance(model.level, model.level)) if p.count_noise else 0.0
        self._scale = max(model.scale, floor, p.min_scale)
        # The warm-up residuals were fitted by the very offsets they are now measured against,
        # so their spread understates what later observations will show: seed the segment with
        # their mean and the spread of future residuals instead, the warm-up scale widened by
        # the error of offsets that rest on warmup/season values each.
        n = min(len(warm), p.max_run)
        centre = math.fsum(warm[-n:]) / n
        mean = (centre - self._ref) / self._scale
        var = (model.scale / self._scale) ** 2 * (1.0 + p.season / p.warmup)
        for r in range(1, p.max_run + 1):
            m = min(r, n)
            self._sum1[r], self._sum2[r] = m * mean, m * (mean * mean + var)
        self._probs[0] = self._hazard
        self._probs[n] = 1.0 - self._hazard
        self._derive()

    def _fold(self, u: float, v: float, joint: list[float], alarm: bool) -> None:
        p, size = self.params, self.params.max_run + 1
        total = sum(joint)
        if not total > 0 or math.isinf(total):
            joint, total = [0.0] * size, 1.0
            joint[0] = 1.0
        grow = (1.0 - self._hazard) / total
        probs = [j * grow for j in joint]
        tail = probs.pop()
        probs[-1] += tail  # the last bin keeps the mass of longer runs
        probs.insert(0, self._hazard)
        self._probs = probs
        # Run r + 1 holds the values of run r and v; the last bin a sliding window of max_run.
        vv = v * v
        sum1 = [s + v for s in self._sum1]
        sum1.pop()
        sum1.insert(0, 0.0)
        sum2 = [s + vv for s in self._sum2]
        sum2.pop()
        sum2.insert(0, 0.0)
        self._sum1, self._sum2 = sum1, sum2
        self._before.append(self._mean)
        # The seasonal offsets learn against the level expected for x, not from alarmed points.
        model = self._model
        model.reset_level(self._ref + self._scale * self._mean)
        model.update(u, freeze_level=True, freeze_season=alarm and p.protect)
        self._derive()

    def _derive(self) -> None:
        """Predictive mean, spread and weight of every run length, from probs and sums."""
        p = self.params
        probs, sum1, sum2 = self._probs, self._sum1, self._sum2
        # Centre new segments' prior on the current level: the posterior mean of segment means.
        rest = 1.0 - probs[0]
        centre = sum([pr * s * i for pr, s, i in zip(probs, sum1, self._inv_runs, strict=True)])
        centre = centre / rest if rest > 0 else 0.0
        k0, b0 = p.prior_kappa, p.prior_beta
        k0c, k0cc = k0 * centre, k0 * centre * centre
        means = [(k0c + s1) * i for s1, i in zip(sum1, self._inv_kappas, strict=True)]
        rates = [
            b0 + 0.5 * (s2 + k0cc - k * m * m)
            for s2, k, m in zip(sum2, self._kappas, means, strict=True)
        ]
        if min(rates) < b0:
            # a Normal-Gamma rate is never below the prior's; rounding can take it there
            rates = [max(b0, b) for b in rates]
        sqrt = math.sqrt
        self._means = means
        self._spreads = [g / b for g, b in zip(self._gain, rates, strict=True)]
        self._weights = [
            pr * c / sqrt(b) for pr, c, b in zip(probs, self._const, rates, strict=True)
        ]
        self._mean = sum([pr * m for pr, m in zip(probs, means, strict=True)])

    # -- snapshots ---------------------------------------------------------------------------
    def _state(self) -> JSONObject:
        return {
            "model": self._model.state(),
            "ref": self._ref,
            "scale": self._scale,
            "before": list(self._before),
            "probs": list(self._probs),
            "sum1": list(self._sum1),
            "sum2": list(self._sum2),
        }

    def _load_state(self, state: JSONObject) -> None:
        model = state["model"]
        if not isinstance(model, dict):
            raise ValueError("bocpd state: model must be an object")
        size = self.params.max_run + 1
        probs, sum1, sum2 = floats(state["probs"]), floats(state["sum1"]), floats(state["sum2"])
        if not len(probs) == len(sum1) == len(sum2) == size:
            raise ValueError(f"bocpd state: run-length arrays must have {size} entries")
        self._model.load_state(model)
        self._ref = number(state["ref"])
        self._scale = number(state["scale"])
        self._probs, self._sum1, self._sum2 = probs, sum1, sum2
        self._before.clear()
        self._before.extend(floats(state["before"]))
        if self.ready:
            self._derive()
