"""CUSUM: two-sided Page cumulative sums on the standardised residuals of a deseasonalised count.

Method. A :class:`~tutka.detectors.deseasonalise.Deseasonaliser` turns each count ``y`` into
``u = log(y + c)`` and expects it to be level ``mu`` + the seasonal offset of its month. The
residual is standardised, ``z = (u - expected) / sigma``, and accumulated in two Page sums

    S+ = max(0, S+ + z - k),    S- = max(0, S- - z - k),

which stay near zero while the series behaves and climb by about ``delta - k`` per month after a
level shift of ``delta`` standard deviations. The score is ``max(S+, S-)`` *including* the
observation assessed (prequential; assessing changes nothing); the threshold is the decision
interval ``h``; ``direction`` says which sum dominates; ``baseline`` is the expected count.

* Noise: ``sigma²`` is an EWMA of squared residuals of non-alarmed points, floored by Poisson
  counting noise (``1/(y + c)`` in logs, at the smaller of the observed and expected counts, so
  twenty job-seekers less in a small municipality is not news) and by ``min_scale²``.
* Runs: while either sum is above zero the model (level, seasonal offsets, noise) learns nothing,
  so a real shift accumulates instead of being learnt away. A run that ends without an alarm was
  noise: the skipped observations are then replayed into the model. A run that lasts
  ``adopt_window`` observations without reaching ``h`` is treated the same way (slow drift, not a
  shift), which keeps the level's lag bounded.
* Adoption: a persistent shift is structural change, to be reported once and then become the new
  normal. On an alarm the level is set to the mean of the deseasonalised values since the
  alarming sum left zero (at most ``adopt_window``; the classic CUSUM estimate of the change
  point) and both sums are reset. The level then stays the running mean of the new regime until
  it rests on ``adopt_window`` values, after which the EWMA takes over. One shift gives one alarm,
  occasionally two.

Limits. There is no trend term. A steady drift makes the level lag, and the lag is now and then
reported as a shift (always in the drift's direction): with 3.4 % monthly noise, 100 simulated
twenty-year series gave 0.05 alarms each at 1 %/year and 0.7 at 3 %/year. Drift that is large
against the noise, as in a big region with little more than counting noise, alarms yearly. The
seasonal baseline, which models year-on-year drift, is the detector for trends.

Parameters: see :class:`CUSUMParams`. ``threshold`` is ``h`` and ``drift`` is ``k``, both in
noise standard deviations. With the defaults (``h = 7``, ``k = 1``), in simulations of the series
below, an 8 % shift (2.3 sigma) was caught after a median of five months, a 35 % one (9 sigma) at
once or a month later, and stationary series gave 17 alarms in 360 000 months.

Example: a seasonal monthly count of about 2 000 that is 25 % higher from month 60 to month 99.
There is one alarm when it rises and one when it falls back; in between the higher level is the
normal.

>>> import math, random
>>> rng = random.Random(7)
>>> def level(t):
...     return 2000 * (1 + 0.15 * math.sin(2 * math.pi * t / 12)) * (1.25 if 60 <= t < 100 else 1)
>>> xs = [round(rng.gauss(level(t), 1.5 * math.sqrt(level(t)))) for t in range(144)]
>>> det = CUSUM()
>>> [(t, a.direction) for t, (a, alarm) in enumerate(map(det.learn, xs)) if alarm]
[(61, 1), (101, -1)]

References: E. S. Page (1954), "Continuous inspection schemes", *Biometrika* 41(1/2), 100-115;
D. M. Hawkins & D. H. Olwell (1998), *Cumulative Sum Charts and Charting for Quality
Improvement*, Springer; river's ``drift.PageHinkley`` for the streaming form.
"""

from __future__ import annotations

import math
from collections import deque
from typing import ClassVar

from pydantic import Field

from tutka.detectors.base import (
    Assessment,
    BaseDetector,
    DetectorParams,
    JSONObject,
    capped,
    floats,
    integer,
    number,
)
from tutka.detectors.deseasonalise import DeseasonalisedParams, Deseasonaliser


class CUSUMParams(DeseasonalisedParams):
    """Hyperparameters of :class:`CUSUM`: the deseasonaliser's, decision interval, allowance."""

    threshold: float = Field(
        default=7.0, gt=0, description="decision interval h: alarm when max(S+, S-) reaches it"
    )
    drift: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="allowance k per observation, in standard deviations (half the shift to catch)",
    )
    count_noise: bool = Field(
        default=True, description="floor the noise by Poisson counting noise 1/(y + offset)"
    )
    alpha_level: float = Field(
        default=0.1, gt=0, le=1, description="EWMA weight of the level (learnt outside runs)"
    )
    alpha_scale: float = Field(
        default=0.05, gt=0, le=1, description="EWMA weight of the squared residuals (noise)"
    )
    min_scale: float = Field(
        default=0.005, gt=0, description="floor on the residual standard deviation"
    )
    adopt_window: int = Field(
        default=12,
        ge=2,
        le=120,
        description="most values averaged into an adopted level; the longest run waited out",
    )
    protect: bool = Field(
        default=True,
        description="an alarmed point does not teach the seasonal offsets (nor ever the noise)",
    )


class CUSUM(BaseDetector[float, CUSUMParams]):
    """Two-sided Page CUSUM on standardised, deseasonalised residuals (see the module)."""

    name: ClassVar[str] = "cusum"
    Params: ClassVar[type[DetectorParams]] = CUSUMParams

    def __init__(self, params: CUSUMParams | None = None) -> None:
        super().__init__(params)
        p = self.params
        self._model = Deseasonaliser(
            p.season, p.warmup, p.offset, p.log, p.alpha_level, p.alpha_season
        )
        self._var = 0.0  # EWMA of squared residuals
        self._pos = 0.0  # S+
        self._neg = 0.0  # S-
        self._pos_run = 0  # observations since S+ last left zero
        self._neg_run = 0
        self._frozen = 0  # observations the model skipped in the current run
        self._settling = 0  # values behind an adopted level while it is a running mean
        self._recent: deque[float] = deque(maxlen=p.adopt_window)  # deseasonalised values

    @property
    def ready(self) -> bool:
        """Whether the warm-up is over (the deseasonaliser has fitted its level and offsets)."""
        return self._model.ready

    def _residual(self, x: float) -> tuple[float, float, float, float]:
        """(transformed x, its expected value, deseasonalised x, standardised residual z)."""
        model, p = self._model, self.params
        u = model.transform(x)
        expected = model.expected()
        var = self._var
        if p.count_noise:
            var = max(var, model.count_variance(expected, u))
        sigma = math.sqrt(max(var, p.min_scale * p.min_scale))
        return u, expected, model.deseasonalise(u), (u - expected) / sigma

    def _sums(self, z: float) -> tuple[float, float]:
        k = self.params.drift
        return max(0.0, self._pos + z - k), max(0.0, self._neg - z - k)

    def assess(self, x: float) -> Assessment:
        """The larger Page sum after ``x``, its direction and expected value; no state changes."""
        if not self.ready:
            return Assessment.quiet(x)
        _, expected, _, z = self._residual(x)
        pos, neg = self._sums(z)
        direction = 1 if pos > neg or (pos == neg and z >= 0) else -1
        return Assessment(capped(max(pos, neg)), self._model.inverse(expected), direction)

    def learn(self, x: float) -> tuple[Assessment, bool]:
        """Assess then update, standardising ``x`` once (the same result as both)."""
        if not self.ready:
            self.update(x)
            return Assessment.quiet(x), False
        u, expected, s, z = self._residual(x)
        pos, neg = self._sums(z)
        direction = 1 if pos > neg or (pos == neg and z >= 0) else -1
        assessment = Assessment(capped(max(pos, neg)), self._model.inverse(expected), direction)
        alarm = assessment.score >= self.params.threshold  # (ready)
        self._fold(u, expected, s, pos, neg)
        return assessment, alarm

    def update(self, x: float) -> None:
        """Fold ``x`` into the sums; at an alarm, adopt the new level and start again."""
        model, p = self._model, self.params
        if not self.ready:
            if model.update(model.transform(x)):
                # The warm-up residuals miss the error of the fitted offsets (each rests on
                # warmup/season values) and of the level; widen the first noise estimate by it.
                self._var = model.scale**2 * (1.0 + p.season / p.warmup + 1.0 / p.season)
            return
        u, expected, s, z = self._residual(x)
        pos, neg = self._sums(z)
        self._fold(u, expected, s, pos, neg)

    def _fold(self, u: float, expected: float, s: float, pos: float, neg: float) -> None:
        """Fold a standardised observation (its Page sums ``pos`` and ``neg``) in."""
        model, p = self._model, self.params
        self._recent.append(s)
        self._pos_run = self._pos_run + 1 if pos > 0 else 0
        self._neg_run = self._neg_run + 1 if neg > 0 else 0
        if max(pos, neg) >= p.threshold:
            self._adopt(u, self._pos_run if pos >= neg else self._neg_run)
            return
        self._pos, self._neg = pos, neg
        if self._settling:
            # The adopted level rests on few values: keep it the running mean of the new regime.
            self._settling += 1
            self._learn_scale(u - expected)
            model.update(u, gain=1.0 / self._settling)
            if self._settling >= p.adopt_window:
                self._settling = 0
        elif (pos > 0 or neg > 0) and self._frozen < p.adopt_window - 1:
            # A run: learn nothing from it yet, so that a real shift accumulates in the sums.
            self._frozen += 1
            model.update(u, freeze_level=True, freeze_season=True)
        else:
            # The run is over without an alarm (or has gone on for adopt_window observations
            # without reaching h): it was noise or slow drift, so learn what was skipped.
            self._catch_up()
            self._learn_scale(u - expected)
            model.update(u)

    def _learn_scale(self, residual: float) -> None:
        self._var += self.params.alpha_scale * (residual * residual - self._var)

    def _catch_up(self) -> None:
        if not self._frozen:
            return
        skipped = list(self._recent)[-1 - self._frozen : -1]
        level = self._model.level  # frozen since the run began: the residuals were s - level
        for s in skipped:
            self._learn_scale(s - level)
        self._model.catch_up(skipped)
        self._frozen = 0

    def _adopt(self, u: float, run: int) -> None:
        """Report, then make the new level the normal: the mean since the run began."""
        since = list(self._recent)[-min(run, len(self._recent)) :]
        self._model.reset_level(math.fsum(since) / len(since))
        self._model.update(u, freeze_level=True, freeze_season=self.params.protect)
        self._settling = len(since) if len(since) < self.params.adopt_window else 0
        self._pos = self._neg = 0.0
        self._pos_run = self._neg_run = 0
        self._frozen = 0

    def _state(self) -> JSONObject:
        return {
            "model": self._model.state(),
            "var": self._var,
            "pos": self._pos,
            "neg": self._neg,
            "pos_run": self._pos_run,
            "neg_run": self._neg_run,
            "frozen": self._frozen,
            "settling": self._settling,
            "recent": list(self._recent),
        }

    def _load_state(self, state: JSONObject) -> None:
        model = state["model"]
        if not isinstance(model, dict):
            raise ValueError("cusum state: model must be an object")
        self._model.load_state(model)
        self._var = number(state["var"])
        self._pos = number(state["pos"])
        self._neg = number(state["neg"])
        self._pos_run = integer(state["pos_run"])
        self._neg_run = integer(state["neg_run"])
        self._frozen = integer(state["frozen"])
        self._settling = integer(state["settling"])
        self._recent.clear()
        self._recent.extend(floats(state["recent"]))
