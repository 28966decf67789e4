"""Reading the NAB corpus and published results (the shell around ``evaluation.nab``).

Layout of a NAB checkout (``../shared/data/nab``): ``data/<category>/<file>.csv`` (timestamp,value),
``labels/combined_windows.json`` (file → [[start, end], ...] timestamps), ``results/<detector>/``
(per-row ``<category>/<detector>_<file>.csv`` with ``anomaly_score``, per-file
``<detector>_<profile>_scores.csv``) and ``results/final_results.json``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from evaluation.nab import (
    PROFILES,
    Candidate,
    CostMatrix,
    FileLayout,
    FileScore,
    Floats,
    best_threshold,
    normalised,
    score_file,
    searched_threshold,
    sweep,
)

#: The published scoreboard the issue compares against (standard profile), best first.
SCOREBOARD = (
    "ARTime",
    "numenta",
    "contextOSE",
    "earthgeckoSkyline",
    "randomCutForest",
    "twitterADVec",
    "windowedGaussian",
)
DISPLAY_NAMES = {
    "ARTime": "ARTime",
    "numenta": "Numenta HTM",
    "contextOSE": "CAD OSE (contextOSE)",
    "earthgeckoSkyline": "earthgecko Skyline",
    "randomCutForest": "Random Cut Forest",
    "twitterADVec": "Twitter ADVec",
    "windowedGaussian": "windowedGaussian",
}


@dataclass(frozen=True)
class NabFile:
    """One data file: its corpus-relative name (``realKnownCause/nyc_taxi.csv``) and rows."""

    name: str
    timestamps: tuple[str, ...]
    values: Floats
    layout: FileLayout

    @property
    def category(self) -> str:
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class NabCorpus:
    root: Path
    files: tuple[NabFile, ...]

    @property
    def windows(self) -> int:
        return sum(f.layout.windows for f in self.files)

    @classmethod
    def load(cls, root: Path) -> NabCorpus:
        labels = json.loads((root / "labels" / "combined_windows.json").read_text())
        files = []
        for name in sorted(labels):
            timestamps, values = _read_series(root / "data" / name)
            windows = [_window_rows(timestamps, start, end) for start, end in labels[name]]
            layout = FileLayout.of(len(timestamps), windows)
            files.append(NabFile(name, timestamps, values, layout))
        if not files:
            raise ValueError(f"no NAB files listed in {root}/labels/combined_windows.json")
        return cls(root, tuple(files))


def _read_series(path: Path) -> tuple[tuple[str, ...], Floats]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return tuple(r["timestamp"] for r in rows), np.array([float(r["value"]) for r in rows])


def _window_rows(timestamps: Sequence[str], start: str, end: str) -> tuple[int, int]:
    # Labels carry microseconds ("2014-04-10 07:15:00.000000"); data rows do not.
    index = {t: i for i, t in enumerate(timestamps)}
    try:
        return index[start.split(".")[0]], index[end.split(".")[0]]
    except KeyError as exc:
        raise ValueError(f"window boundary {exc} is not a timestamp of the file") from exc


def published_scores(root: Path, detector: str, name: str) -> Floats:
    """A published detector's per-row ``anomaly_score`` for one data file."""
    category, file = name.split("/", 1)
    path = root / "results" / detector / category / f"{detector}_{file}"
    with path.open(newline="") as handle:
        return np.array([float(r["anomaly_score"]) for r in csv.DictReader(handle)])


@dataclass(frozen=True)
class ProfileResult:
    profile: str
    threshold: float
    raw: float
    normalised: float
    files: dict[str, FileScore]


def evaluate(
    corpus: NabCorpus,
    scores: dict[str, Floats],
    profile_names: Sequence[str] = tuple(PROFILES),
    optimiser: Literal["nab", "global"] = "nab",
) -> dict[str, ProfileResult]:
    """Optimise the threshold over the corpus per profile, then score every file at it.

    ``nab`` climbs as NAB's published results did (comparable with the scoreboard); ``global``
    takes the exact optimum of the sweep (never lower).
    """
    choose = searched_threshold if optimiser == "nab" else best_threshold
    results = {}
    for name in profile_names:
        profile = PROFILES[name]
        best = choose(sweep(_pairs(corpus, scores), profile))
        results[name] = _at_threshold(corpus, scores, name, profile, best)
    return results


def _pairs(corpus: NabCorpus, scores: dict[str, Floats]) -> Iterator[tuple[FileLayout, Floats]]:
    for f in corpus.files:
        yield f.layout, scores[f.name]


def _at_threshold(
    corpus: NabCorpus,
    scores: dict[str, Floats],
    name: str,
    profile: CostMatrix,
    best: Candidate,
) -> ProfileResult:
    files = {
        f.name: score_file(f.layout, scores[f.name], best.threshold, profile) for f in corpus.files
    }
    raw = sum(s.score for s in files.values())
    return ProfileResult(name, best.threshold, raw, normalised(raw, corpus.windows, profile), files)


def published_board(root: Path) -> dict[str, dict[str, float]]:
    """``final_results.json``: detector → profile → normalised score."""
    board: dict[str, dict[str, float]] = json.loads(
        (root / "results" / "final_results.json").read_text()
    )
    return board


def published_file_scores(root: Path, detector: str, profile: str) -> dict[str, float]:
    """The per-file raw scores a detector published for one profile (without the totals row)."""
    path = root / "results" / detector / f"{detector}_{profile}_scores.csv"
    with path.open(newline="") as handle:
        return {r["File"]: float(r["Score"]) for r in csv.DictReader(handle) if r["File"]}
