"""What the generator produces (events and their ground truth) and the types the package shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from tutka.models.events import LayoffNoticeFiled, UnemploymentReported, VacanciesReported

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Polarity = Literal["negative", "positive"]
Confidence = Literal["high", "medium", "low"]
DetailValue = str | int | float
SyntheticEvent = LayoffNoticeFiled | UnemploymentReported | VacanciesReported
Figure = UnemploymentReported | VacanciesReported
_E = TypeVar("_E", LayoffNoticeFiled, UnemploymentReported, VacanciesReported)
ScenarioName = Literal["fixed", "random"]

SOURCE: Final = "synthetic"


@dataclass(frozen=True)
class TruthEvent:
    """One injected structural change, as the scorecard expects it (``truth.csv``).

    ``regions`` lists the areas where the change should be visible (broadest first);
    ``reference_month`` is the announcement or onset; ``details`` hold the realised magnitudes.
    """

    event_id: str
    regions: tuple[str, ...]
    reference_month: str
    polarity: Polarity
    confidence: Confidence
    what: str
    kind: str
    details: tuple[tuple[str, DetailValue], ...] = ()

    def csv_row(self) -> list[str]:
        return [
            self.event_id,
            ";".join(self.regions),
            self.reference_month,
            self.polarity,
            self.confidence,
            self.what,
        ]

    def to_json(self) -> dict[str, object]:
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "regions": list(self.regions),
            "reference_month": self.reference_month,
            "polarity": self.polarity,
            "confidence": self.confidence,
            "what": self.what,
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class SyntheticDataset:
    """The generated events (validated, ordered by availability) and the ground truth."""

    seed: int
    start: str
    end: str
    occupations: int
    inject: bool
    areas: tuple[str, ...]
    events: tuple[SyntheticEvent, ...]
    truth: tuple[TruthEvent, ...]
    scenario: ScenarioName = "fixed"
    series: int = 0  # figure series (see ``SyntheticPlan.series``)

    def of_type(self, cls: type[_E]) -> list[_E]:
        return [event for event in self.events if isinstance(event, cls)]

    def counts(self) -> dict[str, int]:
        """Number of events per ``type`` discriminator."""
        counts = {"layoff_notice": 0, "unemployment": 0, "vacancies": 0}
        for event in self.events:
            counts[event.type] += 1
        return counts

    @property
    def revisions(self) -> int:
        return sum(
            1 for e in self.events if not isinstance(e, LayoffNoticeFiled) and e.revision > 0
        )
