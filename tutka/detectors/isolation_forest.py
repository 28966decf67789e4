"""Isolation forest: a multivariate outlier among the monthly feature vectors of many areas.

Method. Each observation is an area's feature vector for one month, for instance the
year-on-year change of unemployment relative to the country, the same for vacancies, the
seasonally adjusted three-month momentum and the change in labour-market tightness. One detector
instance is pooled over all areas of one hierarchy level, so the pipeline scores a whole monthly
release at once with :meth:`IsolationForestOutlier.assess_many` and then learns it with
:meth:`IsolationForestOutlier.update_many` (one scikit-learn call each; the single-item methods
give exactly the same results, only slower).

An isolation forest (Liu, Ting & Zhou 2008) grows random trees on subsamples of the training
vectors, splitting on a random feature at a random value between the node's minimum and maximum.
Outliers are isolated after few splits. The anomaly score is ``s(x) = 2^(-E[h(x)] / c(psi))``,
where ``h`` is the path length of ``x`` in a tree, ``c(psi)`` the average path length of an
unsuccessful binary-search-tree lookup among ``psi`` subsampled vectors, here computed as
``-IsolationForest.score_samples(x)``. It lies in (0, 1]: about 0.5 or less is unremarkable, near
1 is isolated at once. The score is 0 until the first fit (not ready). The assessment's
``baseline`` is the median score of the training vectors at the last fit (the "normal" score
level, typically 0.45-0.5; 0.5 before the first fit); its ``direction`` is 0, because the
pipeline reads the polarity from the features themselves.

State is a ring of the latest ``window + refit_every`` vectors and a few counters, never the
fitted forest (snapshots are JSON, not pickle). The forest is refit with ``random_state=seed``
on the latest ``window`` vectors

* on schedule: after the ``min_fit``-th vector and then after every ``refit_every`` more, that
  is after vector ``min_fit + k * refit_every`` (with both a multiple of the release size, the
  fits of a pooled detector fall on release boundaries), and
* with ``refit_on_novelty``, also right after learning a vector that lay outside the bounding box
  of the training set (this does not move the schedule).

The last rule is there because every split value of an isolation tree lies inside the training
range: a vector beyond it lands in the leaf of the most extreme training vectors and scores no
higher than they do, however far out it is. The first month of a structural break therefore
scores like an ordinary extreme month; the break shows once the forest has been refit with that
first vector, as the following months fall into its leaf. Refitting at once keeps that delay to
one vector per area. Conversely, once a handful of shifted vectors sit in the window they isolate
each other slowly (the masking effect Liu et al. describe): a persistent shift becomes the new
normal within a few months, which is the behaviour wanted here. Because the snapshot records how
many vectors arrived after the last fit, :meth:`~tutka.detectors.base.BaseDetector.restore` refits
on exactly the training set of the forest in use, and a restored detector gives the same later
scores.

Parameters (:class:`IsolationForestParams`): ``threshold`` (alarm score, 0.7: in 200 seeded runs
of 240 i.i.d. standard normal vectors in four dimensions, one a month, the largest score was 0.69),
``n_estimators`` (trees), ``max_samples`` (the subsample ``psi`` per tree, capped at the
training-set size), ``window``, ``refit_every``, ``refit_on_novelty``, ``min_fit`` and ``seed``.
Cost, measured on one core: a fit of 100 trees takes about 50 ms whatever the window (≤ 1 000
vectors); scoring goes tree by tree without scikit-learn's per-call overhead (see
:class:`ForestScorer`): 40 vectors through 50 trees in about 0.4 ms, against about 2.5 ms through
``score_samples``. Single calls still pay a fixed cost per tree: hence the batch methods.

Example: one area's four standardised features, one vector a month; from month 60 the first two
jump by 10 standard deviations.

>>> import random
>>> rng = random.Random(1)
>>> def features(t):
...     shift = 10.0 if t >= 60 else 0.0
...     return (rng.gauss(shift, 1), rng.gauss(shift, 1), rng.gauss(0, 1), rng.gauss(0, 1))
>>> xs = [features(t) for t in range(96)]
>>> det = IsolationForestOutlier()
>>> results = [det.learn(x) for x in xs]
>>> [t for t, (_, alarm) in enumerate(results) if alarm]
[61]
>>> [round(results[t][0].score, 2) for t in (59, 60, 61, 62, 95)]
[0.5, 0.59, 0.72, 0.69, 0.49]

Month 60 scores like an ordinary extreme month (saturation); month 61 falls into the leaf of month
60 in the forest refit after it; from month 62 on the shifted months mask each other, and by the
end of the series the new level is normal (0.49, against a baseline of about 0.46).

References: F. T. Liu, K. M. Ting and Z.-H. Zhou (2008), "Isolation Forest", Proc. 8th IEEE
International Conference on Data Mining, 413-422; scikit-learn's ``IsolationForest``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
from joblib import parallel_config
from pydantic import Field, model_validator

from tutka.detectors.base import (
    Assessment,
    BaseDetector,
    DetectorParams,
    JSONObject,
    JSONValue,
    capped,
    floats,
    integer,
)

if TYPE_CHECKING:
    from sklearn.ensemble import IsolationForest

FeatureVector = tuple[float, ...]
Matrix = npt.NDArray[np.float64]

#: The score of a vector whose path length is the average one: the baseline before any fit.
NORMAL_SCORE = 0.5
#: The forest computes in float32; larger magnitudes would become infinite there.
FLOAT32_MAX = float(np.finfo(np.float32).max)


class IsolationForestParams(DetectorParams):
    """Hyperparameters of :class:`IsolationForestOutlier` (see the module docstring)."""

    threshold: float = Field(
        default=0.7,
        gt=0.5,
        lt=1.0,
        description="alarm when the anomaly score s(x) in (0, 1) reaches this value",
    )
    n_estimators: int = Field(default=100, ge=10, le=1000, description="isolation trees")
    max_samples: int = Field(
        default=256,
        ge=8,
        le=4096,
        description="vectors subsampled to grow each tree (capped at the training-set size)",
    )
    window: int = Field(
        default=180, ge=16, le=10_000, description="latest vectors the forest is fitted on"
    )
    refit_every: int = Field(
        default=12, ge=1, le=10_000, description="learnt vectors between scheduled refits"
    )
    refit_on_novelty: bool = Field(
        default=True,
        description="refit right after learning a vector outside the training set's bounding box",
    )
    min_fit: int = Field(
        default=48, ge=8, le=10_000, description="vectors learnt before the first fit (warm-up)"
    )
    seed: int = Field(
        default=0, ge=0, le=2**32 - 1, description="random_state of every fit (reproducible)"
    )

    @model_validator(mode="after")
    def _first_fit_fits_in_the_window(self) -> Self:
        if self.min_fit > self.window:
            raise ValueError(f"min_fit ({self.min_fit}) must not exceed window ({self.window})")
        return self


#: The name the detector stub used; kept so either spelling imports.
IsolationForestOutlierParams = IsolationForestParams


class IsolationForestOutlier(BaseDetector[FeatureVector, IsolationForestParams]):
    """Isolation-forest outlier score of fixed-dimension feature vectors, pooled over areas."""

    name: ClassVar[str] = "isolation_forest"
    Params: ClassVar[type[DetectorParams]] = IsolationForestParams

    def __init__(self, params: IsolationForestParams | None = None) -> None:
        super().__init__(params)
        self._dim: int | None = None
        self._ring: Matrix = np.empty((0, 0))
        self._n = 0
        self._since_fit = 0
        self._forest: ForestScorer | None = None
        self._low: Matrix | None = None
        self._high: Matrix | None = None
        self._baseline = NORMAL_SCORE

    # -- read-only views ---------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether a forest has been fitted (after ``min_fit`` vectors)."""
        return self._forest is not None

    @property
    def dim(self) -> int | None:
        """Features per vector, fixed by the first vector learnt (None before)."""
        return self._dim

    @property
    def n_seen(self) -> int:
        """Vectors learnt so far."""
        return self._n

    @property
    def fitted_at(self) -> int | None:
        """How many vectors had been learnt when the forest in use was fitted (None: no fit)."""
        return self._n - self._since_fit if self.ready else None

    @property
    def capacity(self) -> int:
        """Vectors kept: the training window plus those learnt since the last scheduled fit."""
        return self.params.window + self.params.refit_every

    # -- scoring -----------------------------------------------------------------------------
    def assess(self, x: FeatureVector) -> Assessment:
        """The anomaly score of one vector (a whole release is cheaper with :meth:`assess_many`)."""
        return self._assess(self._matrix([x], single=True))[0]

    def assess_many(self, xs: Sequence[FeatureVector]) -> list[Assessment]:
        """Assess a whole release in one ``score_samples`` call; does not change state."""
        return self._assess(self._matrix(xs))

    def _assess(self, matrix: Matrix) -> list[Assessment]:
        if self._forest is None:
            return [Assessment.quiet(self._baseline)] * len(matrix)
        if len(matrix) == 0:
            return []
        scores = self._forest.scores(matrix)
        return [Assessment(capped(s), self._baseline, 0) for s in scores]

    # -- learning ----------------------------------------------------------------------------
    def update(self, x: FeatureVector) -> None:
        """Learn one vector (a whole release is cheaper with :meth:`update_many`)."""
        self._learn(self._matrix([x], single=True))

    def update_many(self, xs: Sequence[FeatureVector]) -> None:
        """Learn a whole release; the same state as :meth:`update` on each vector in turn.

        Refits due inside the batch are not carried out one by one (nothing is scored between
        them): only the last one is, on the training set it would have had. The batch is
        validated first, so a bad vector leaves the detector unchanged.
        """
        self._learn(self._matrix(xs))

    def _learn(self, matrix: Matrix) -> None:
        if len(matrix) == 0:
            return
        p = self.params
        start = self._n - len(self._ring)  # stream index of the ring's first vector
        stream = np.concatenate([self._ring, matrix]) if len(self._ring) else matrix
        n, since_fit = self._n, self._since_fit
        low, high = self._low, self._high
        last_fit: int | None = None  # stream length at the last refit due in this batch
        for x in matrix:
            novel = (
                p.refit_on_novelty
                and low is not None
                and high is not None
                and bool(np.any(x < low) or np.any(x > high))
            )
            n += 1
            since_fit += 1
            if self._scheduled(n) or novel:
                last_fit, since_fit = n, 0
                training = stream[max(0, n - p.window) - start : n - start]
                low, high = training.min(axis=0), training.max(axis=0)
        self._ring = stream[-self.capacity :].copy()
        self._dim = self._ring.shape[1]
        self._n, self._since_fit = n, since_fit
        if last_fit is not None:
            self._fit(stream[max(0, last_fit - p.window) - start : last_fit - start])

    def _scheduled(self, n: int) -> bool:
        """Whether a refit is due after the n-th vector, novelty aside (a fixed grid)."""
        p = self.params
        return n >= p.min_fit and (n - p.min_fit) % p.refit_every == 0

    def _fit(self, training: Matrix) -> None:
        # Imported here: scikit-learn takes a second or more to import, and most runs (every
        # replay without pooled outliers, every worker until its first fit) never grow a forest.
        from sklearn.ensemble import IsolationForest

        p = self.params
        forest = IsolationForest(
            n_estimators=p.n_estimators,
            max_samples=min(p.max_samples, len(training)),
            random_state=p.seed,
            n_jobs=1,
        )
        self._forest = ForestScorer(forest.fit(training))
        self._low, self._high = training.min(axis=0), training.max(axis=0)
        self._baseline = float(np.median(self._forest.scores(training)))

    # -- validation --------------------------------------------------------------------------
    def _matrix(self, xs: Sequence[FeatureVector], single: bool = False) -> Matrix:
        """The vectors as a float64 matrix, or a precise ValueError."""

        def which(i: int) -> str:
            return "the feature vector" if single else f"feature vector {i} of {len(xs)}"

        expected = self._dim
        for i, x in enumerate(xs):
            if not isinstance(x, Sequence | np.ndarray) or isinstance(x, str | bytes):
                raise ValueError(
                    f"{self.name}: {which(i)} must be a sequence of floats, got {type(x).__name__}"
                )
            if len(x) == 0:
                raise ValueError(f"{self.name}: {which(i)} is empty")
            if expected is None:
                expected = len(x)
            elif len(x) != expected:
                fixed = (
                    "fixed by the first vector this detector learnt"
                    if self._dim is not None
                    else "like the first vector of the batch"
                )
                raise ValueError(
                    f"{self.name}: {which(i)} has {len(x)} features; expected {expected} ({fixed})"
                )
        if expected is None:
            return np.empty((0, self._dim or 0))
        try:
            matrix = np.array(xs, dtype=np.float64).reshape(len(xs), expected)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{self.name}: feature vectors must hold numbers ({error})") from None
        bad = ~(np.abs(matrix) <= FLOAT32_MAX)  # also catches nan
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            raise ValueError(
                f"{self.name}: {which(i)} has {float(matrix[i, j])!r} at position {j}; "
                f"features must be finite and within ±{FLOAT32_MAX:.3g} (the forest computes "
                "in float32)"
            )
        return matrix

    # -- snapshots ---------------------------------------------------------------------------
    def _state(self) -> JSONObject:
        vectors: list[JSONValue] = [[float(v) for v in row] for row in self._ring]
        return {
            "dim": self._dim,
            "n": self._n,
            "since_fit": self._since_fit,
            "vectors": vectors,
        }

    def _load_state(self, state: JSONObject) -> None:
        p = self.params
        dim_value = state["dim"]
        dim = None if dim_value is None else integer(dim_value)
        n, since_fit = integer(state["n"]), integer(state["since_fit"])
        rows = state["vectors"]
        if not isinstance(rows, list):
            raise ValueError(f"{self.name} snapshot: vectors must be a list")
        if n < 0 or not 0 <= since_fit <= n:
            raise ValueError(f"{self.name} snapshot: inconsistent n={n}, since_fit={since_fit}")
        if len(rows) != min(n, self.capacity):
            raise ValueError(
                f"{self.name} snapshot holds {len(rows)} vectors; expected "
                f"min(n={n}, window + refit_every={self.capacity})"
            )
        fitted = n >= p.min_fit
        if fitted and since_fit > (n - p.min_fit) % p.refit_every:
            raise ValueError(
                f"{self.name} snapshot: since_fit={since_fit} is past the scheduled refit "
                f"(n={n}, min_fit={p.min_fit}, refit_every={p.refit_every})"
            )
        if not fitted and since_fit != n:
            raise ValueError(f"{self.name} snapshot: since_fit={since_fit} before the first fit")
        if (dim is None) != (n == 0) or (dim is not None and dim < 1):
            raise ValueError(f"{self.name} snapshot: dim={dim} does not fit n={n}")
        self._dim = dim
        if dim is not None:
            self._ring = self._matrix([tuple(floats(row)) for row in rows])
        self._n, self._since_fit = n, since_fit
        if fitted:
            end = len(self._ring) - since_fit
            self._fit(self._ring[max(0, end - min(p.window, n - since_fit)) : end])


class ForestScorer:
    """The anomaly scores of a fitted forest, tree by tree, through scikit-learn's public API.

    ``IsolationForest.score_samples`` adds up, over the trees, the depth of the leaf a vector
    falls into plus ``c(n)`` of the ``n`` training vectors in that leaf, minus one; it keeps both
    per-node tables in private attributes computed at fit. This class computes the same table
    once per forest from the documented tree structure (``tree_.children_left``,
    ``tree_.children_right``, ``tree_.n_node_samples``) and finds the leaves with the public
    ``apply(check_input=False)`` of each tree: the same float32 input, the same per-node sums
    added in the same order, the same final division and power, so the scores are bit for bit
    those of ``score_samples`` (a test holds them equal).
    What it skips is scikit-learn's per-call validation and joblib's per-tree dispatch, which
    cost several times the arithmetic for a release of a few hundred vectors.
    """

    def __init__(self, forest: IsolationForest) -> None:
        self.forest = forest
        n_features = forest.n_features_in_
        self._trees = [
            # A tree sees all features (in the training order) unless max_features subsampled
            # them; scikit-learn indexes the columns only in that case, and so do we.
            (tree, None if len(features) == n_features else np.asarray(features),
             _leaf_terms(tree.tree_))
            for tree, features in zip(forest.estimators_, forest.estimators_features_, strict=True)
        ]  # fmt: skip
        self._denominator = len(forest.estimators_) * average_path_length(
            np.asarray([forest.max_samples_])
        )

    def scores(self, matrix: Matrix) -> list[float]:
        """``s(x) = -score_samples(x)`` of each row, as Python floats."""
        x = np.ascontiguousarray(matrix, dtype=np.float32)
        depths = np.zeros(len(x), dtype=np.float64)
        for tree, features, terms in self._trees:
            leaves = tree.apply(x if features is None else x[:, features], check_input=False)
            depths += terms[leaves]
        denominator = self._denominator
        scores = 2 ** (
            -np.divide(depths, denominator, out=np.ones_like(depths), where=denominator != 0)
        )
        return [float(v) for v in np.asarray(scores, dtype=np.float64)]


def anomaly_scores(forest: IsolationForest, matrix: Matrix) -> list[float]:
    """``s(x) = -score_samples(x)`` of each row (see :class:`ForestScorer`, which caches)."""
    return ForestScorer(forest).scores(matrix)


def average_path_length(n: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """``c(n)``: the average path length of an unsuccessful search in a BST of ``n`` keys.

    Liu et al.'s normalising constant, ``2 H(n - 1) - 2 (n - 1) / n`` with the harmonic number
    ``H(i) ≈ ln(i) + γ``; 0 for ``n ≤ 1`` and 1 for ``n = 2``. The same operations in the same
    order as scikit-learn's own (so the same bits).

    >>> average_path_length(np.asarray([1, 2, 256])).round(4).tolist()
    [0.0, 1.0, 10.2448]
    """
    lengths = np.zeros(n.shape)
    one, two = n <= 1, n == 2
    more = ~np.logical_or(one, two)
    lengths[two] = 1.0
    m = n[more]
    lengths[more] = 2.0 * (np.log(m - 1.0) + np.euler_gamma) - 2.0 * (m - 1.0) / m
    return lengths


def _leaf_terms(tree: Any) -> npt.NDArray[np.float64]:
    """Per node: its depth (the root is 1) plus ``c`` of its training vectors, minus one."""
    left, right = tree.children_left, tree.children_right
    depths = np.zeros(tree.node_count, dtype=np.int64)
    depths[0] = 1
    frontier = np.zeros(1, dtype=np.int64)
    while frontier.size:
        inner = frontier[left[frontier] != -1]  # -1: a leaf
        children = np.concatenate([left[inner], right[inner]])
        depths[children] = np.concatenate([depths[inner], depths[inner]]) + 1
        frontier = children
    terms: npt.NDArray[np.float64] = (
        depths + average_path_length(np.asarray(tree.n_node_samples)) - 1.0
    )
    return terms


def _anomaly_scores_sklearn(forest: IsolationForest, matrix: Matrix) -> list[float]:
    """The same scores through ``score_samples``: the reference the tests compare with."""
    # score_samples sums the trees' path lengths through joblib; under a caller's parallel
    # backend the summation order, and so the last bits, could vary and break exact restore.
    with parallel_config(backend="sequential"):
        raw = forest.score_samples(matrix)
    return [-float(v) for v in np.asarray(raw, dtype=np.float64)]
