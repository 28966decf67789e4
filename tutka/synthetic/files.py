"""Files: the events as JSON lines, ``truth.csv`` (the scorecard format) and ``manifest.json``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from tutka.synthetic.dataset import SOURCE, SyntheticDataset, TruthEvent
from tutka.synthetic.generator import SyntheticPlan, _collector_paused

TRUTH_COLUMNS: Final = ("event_id", "regions", "reference_month", "polarity", "confidence", "what")
FILES: Final = (
    "unemployment.jsonl",
    "vacancies.jsonl",
    "notices.jsonl",
    "truth.csv",
    "manifest.json",
)


def write(dataset: SyntheticDataset, directory: Path) -> list[Path]:
    """Write the dataset's files into ``directory`` (created if needed); returns their paths.

    ``unemployment.jsonl``, ``vacancies.jsonl`` and ``notices.jsonl`` hold one event per line
    (``model_dump_json``) in order of availability; ``truth.csv`` the injected changes in the
    scorecard format; ``manifest.json`` the parameters, counts and injected events.
    """
    directory.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = {"unemployment": [], "vacancies": [], "layoff_notice": []}
    for event in dataset.events:
        lines[event.type].append(event.model_dump_json() + "\n")
    contents = {
        "unemployment.jsonl": "".join(lines["unemployment"]),
        "vacancies.jsonl": "".join(lines["vacancies"]),
        "notices.jsonl": "".join(lines["layoff_notice"]),
        "truth.csv": _truth_csv(dataset.truth),
        "manifest.json": _manifest_json(dataset, dataset.counts(), dataset.revisions),
    }
    paths = []
    for name in FILES:
        path = directory / name
        path.write_text(contents[name], encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def write_plan(synthetic: SyntheticPlan, directory: Path) -> list[Path]:
    """Write the same files as :func:`write`, streaming the figures: memory stays flat.

    Byte for byte what ``write(synthetic.dataset(), directory)`` writes.
    """
    directory.mkdir(parents=True, exist_ok=True)
    counts = {"layoff_notice": len(synthetic.notices), "unemployment": 0, "vacancies": 0}
    revisions = 0
    with (
        _collector_paused(),
        (directory / "unemployment.jsonl").open("w", encoding="utf-8", newline="\n") as u_file,
        (directory / "vacancies.jsonl").open("w", encoding="utf-8", newline="\n") as v_file,
    ):
        handles = {"unemployment": u_file, "vacancies": v_file}
        for figure in synthetic.figure_events():
            handles[figure.type].write(figure.model_dump_json() + "\n")
            counts[figure.type] += 1
            revisions += figure.revision > 0
    with (directory / "notices.jsonl").open("w", encoding="utf-8", newline="\n") as n_file:
        n_file.writelines(n.model_dump_json() + "\n" for n in synthetic.notices)
    small = {
        "truth.csv": _truth_csv(synthetic.truth),
        "manifest.json": _manifest_json(synthetic, counts, revisions),
    }
    for name, text in small.items():
        (directory / name).write_text(text, encoding="utf-8", newline="\n")
    return [directory / name for name in FILES]


def _truth_csv(truth: Iterable[TruthEvent]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRUTH_COLUMNS)
    writer.writerows(t.csv_row() for t in truth)
    return buffer.getvalue()


def _manifest_json(
    synthetic: SyntheticDataset | SyntheticPlan, counts: dict[str, int], revisions: int
) -> str:
    manifest = {
        "generator": "tutka.synthetic",
        "format": 1,
        "seed": synthetic.seed,
        "start": synthetic.start,
        "end": synthetic.end,
        "occupations": synthetic.occupations,
        "inject": synthetic.inject,
        "scenario": synthetic.scenario,
        "areas": len(synthetic.areas),
        "municipalities": sum(1 for a in synthetic.areas if a.startswith("KU")),
        "series": synthetic.series,
        "counts": counts,
        "revisions": revisions,
        "source": SOURCE,
        "injected": [t.to_json() for t in synthetic.truth],
    }
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
