"""Reading the NAB corpus and published results (the shell around ``tutka.evaluation.nab``).

Layout of a NAB checkout (``../shared/data/nab``): ``data/<category>/<file>.csv`` (timestamp,value),
``labels/combined_windows.json`` (file → [[start, end], ...] timestamps), ``results/<detector>/``
(per-row ``<category>/<detector>_<file>.csv`` with ``anomaly_score``, per-file
``<detector>_<profile>_scores.csv``) and ``results/final_results.json``.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from tutka.detectors.context_novelty import ContextNovelty, Reading
from tutka.evaluation.nab import (
    PROFILES,
    Candidate,
    CostMatrix,
    FileLayout,
    FileScore,
    Floats,
    best_threshold,
    normalised,
    probationary_rows,
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
            rows = {t: i for i, t in enumerate(timestamps)}
            windows = [_window_rows(rows, start, end) for start, end in labels[name]]
            layout = FileLayout.of(len(timestamps), windows)
            files.append(NabFile(name, timestamps, values, layout))
        if not files:
            raise ValueError(f"no NAB files listed in {root}/labels/combined_windows.json")
        return cls(root, tuple(files))


def _read_series(path: Path) -> tuple[tuple[str, ...], Floats]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return tuple(r["timestamp"] for r in rows), np.array([float(r["value"]) for r in rows])


def _window_rows(index: dict[str, int], start: str, end: str) -> tuple[int, int]:
    # Labels carry microseconds ("2014-04-10 07:15:00.000000"); data rows do not.
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


# -- our ensemble on NAB --------------------------------------------------------------------------

#: The one configuration used for every file (no per-file tuning). The detector rests for two
#: thirds of NAB's probationary period after an alarm: NAB hands every detector that period, and
#: a rest as long as a typical anomaly window keeps one anomaly from being reported many times.
REST_SHARE_OF_PROBATION = 2 / 3


def ensemble_scores(file: NabFile) -> Floats:
    """Stream one file through the production novelty detector in order; its per-row scores."""
    rest = int(probationary_rows(file.layout.rows) * REST_SHARE_OF_PROBATION)
    detector = ContextNovelty(ContextNovelty.Params(rest=rest))
    scores = np.zeros(file.layout.rows)
    for i, (stamp, value) in enumerate(zip(file.timestamps, file.values, strict=True)):
        assessment, _ = detector.learn(Reading(float(value), _hour(stamp)))
        scores[i] = assessment.score
    return scores


def _hour(stamp: str) -> int:
    return datetime.fromisoformat(stamp).hour


def ensemble_corpus_scores(corpus: NabCorpus) -> dict[str, Floats]:
    return {f.name: ensemble_scores(f) for f in corpus.files}


# -- the command ----------------------------------------------------------------------------------

OURS = "Muutostutka context_novelty"


@click.command("nab")
@click.argument(
    "root",
    required=False,
    default=Path("../shared/data/nab"),
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--optimiser",
    type=click.Choice(["nab", "global"]),
    default="nab",
    show_default=True,
    help="Threshold search: NAB's hill climb (as the scoreboard) or the exact optimum.",
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path))
def nab_command(root: Path, optimiser: Literal["nab", "global"], json_out: Path | None) -> None:
    """Score our detector on the Numenta Anomaly Benchmark beside the published scoreboard.

    ROOT is a NAB v1.1 checkout (default ../shared/data/nab). Every file is streamed in order
    through one fixed configuration; the threshold is optimised per profile over the corpus,
    as NAB does for every entry.
    """
    console = Console(highlight=False)
    started = time.perf_counter()
    try:
        corpus = NabCorpus.load(root)
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot read NAB at {root}: {exc}") from exc
    scores = ensemble_corpus_scores(corpus)
    seconds = time.perf_counter() - started
    results = evaluate(corpus, scores, optimiser=optimiser)
    rows = sum(f.layout.rows for f in corpus.files)
    console.print(_board_table(results, published_board(root)))
    console.print(
        f"{len(corpus.files)} files, {rows:,} rows, {corpus.windows} windows; "
        f"detector ran at {rows / seconds:,.0f} rows/s ({seconds:.1f} s incl. loading)"
    )
    standard = results["standard"]
    found = sum(s.detected_windows for s in standard.files.values())
    false = sum(s.fp for s in standard.files.values())
    console.print(
        f"standard profile: threshold {standard.threshold:.4f}, {found}/{corpus.windows} "
        f"windows detected, {false} false-positive rows"
    )
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(_as_json(results, rows, seconds), indent=2) + "\n")
        console.print(f"wrote {json_out}")


def _board_table(results: dict[str, ProfileResult], board: dict[str, dict[str, float]]) -> Table:
    table = Table(title="NAB v1.1 normalised scores (null 0, perfect 100)")
    table.add_column("detector", no_wrap=True)
    for profile in PROFILES:
        table.add_column(profile, justify="right")
    entries = [(DISPLAY_NAMES[d], board[d], False) for d in SCOREBOARD if d in board]
    ours = {p: r.normalised for p, r in results.items()}
    entries.append((OURS, ours, True))
    for name, scores, mine in sorted(entries, key=lambda e: -e[1]["standard"]):
        cells = [f"{scores[p]:.1f}" for p in PROFILES]
        style = "bold green" if mine else None
        table.add_row(name, *cells, style=style)
    return table


def _as_json(results: dict[str, ProfileResult], rows: int, seconds: float) -> dict[str, object]:
    return {
        "detector": OURS,
        "rows": rows,
        "seconds": round(seconds, 3),
        "profiles": {
            name: {
                "normalised": round(r.normalised, 3),
                "raw": round(r.raw, 4),
                "threshold": r.threshold,
                "windows_detected": sum(s.detected_windows for s in r.files.values()),
                "false_positive_rows": sum(s.fp for s in r.files.values()),
                "files": {f: round(s.score, 4) for f, s in r.files.items()},
            }
            for name, r in results.items()
        },
    }
