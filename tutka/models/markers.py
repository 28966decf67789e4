"""End-of-release markers: a publisher's word that every figure of one release has been sent.

A release is everything one publisher sends for one availability date (``published``; a
notice's ``announced``). After sending it, the publisher (``tutka publish``, ``tutka fetch
--publish``) sends one :class:`ReleaseEnd` to **every partition** of every input topic the
publisher writes to, each copy with the number of the release's events it sent to that
partition (zero for a topic the release did not touch: the copy still says that nothing earlier
is coming from this publisher).
A worker that has seen the marker on every one of those partitions, and that many events of the
release on each, knows the release is complete and judges it at once, instead of waiting for a
later release or for ``idle_seconds`` of quiet.

Markers are optional: a publisher that sends none still works (the worker falls back to the
watermark and the idle flush).

Once a release closed by its markers is judged, the worker says so on ``tutka.releases.v1``
with a :class:`ReleaseJudged`: the publisher's acknowledgement that the release is in and was
looked at, with how many alert versions it produced — none is an answer too ("judged, nothing
stands out"), which the alerts topic cannot give.

>>> marker = ReleaseEnd(dataset="tyonv_12r5", published="2023-10-25", period="2023-09",
...                     topics=("unemployment",), partition=1, partitions=3, count=12)
>>> is_marker(marker.model_dump_json().encode())
True
>>> is_marker(b'{"type": "unemployment"}')
False
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

EventType = Literal["layoff_notice", "unemployment", "vacancies"]
MARKER_TYPE: Final = "release_end"
_TAG: Final = b'"release_end"'


#: The publisher's name for a dataset (a StatFin table, or ``publish``).
DatasetName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w.:/-]+$")]


class ReleaseEnd(BaseModel):
    """One copy of a release's end marker, for one partition of one input topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    type: Literal["release_end"] = "release_end"
    dataset: DatasetName = Field(
        description="the publisher's name for the data (a StatFin table, or `publish`)"
    )
    published: date = Field(description="the availability date of the release's events")
    period: str | None = Field(default=None, max_length=7, description="latest period, if any")
    topics: Annotated[tuple[EventType, ...], Field(min_length=1, max_length=3)] = Field(
        description="the event types (so the input topics) the release went to"
    )
    partition: int = Field(ge=0, description="the partition this copy was sent to")
    partitions: int = Field(ge=1, le=256, description="how many partitions that topic has")
    count: int = Field(ge=0, description="the release's events sent to this partition")

    @model_validator(mode="after")
    def _consistent(self) -> ReleaseEnd:
        if self.partition >= self.partitions:
            raise ValueError(f"partition {self.partition} of {self.partitions} does not exist")
        if len(set(self.topics)) != len(self.topics):
            raise ValueError("topics are listed twice")
        return self

    @property
    def release(self) -> tuple[str, date]:
        """The release this marker closes: (dataset, availability date)."""
        return (self.dataset, self.published)


class ReleaseJudged(BaseModel):
    """A release closed by its markers has been judged and its alert versions published.

    The worker sends one on ``tutka.releases.v1`` (keyed by dataset) after the release's alerts,
    at least once: a worker taking over from a checkpoint may judge a release again and say so
    again (the same content; readers key on dataset and date).

    >>> ReleaseJudged(dataset="tyonv_12r5", published="2023-10-25", events=12, alerts=0).alerts
    0
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    type: Literal["release_judged"] = "release_judged"
    dataset: DatasetName = Field(
        description="the publisher's name for the data, as its markers gave it"
    )
    published: date = Field(description="the availability date of the release")
    events: int = Field(ge=0, description="the release's events, as its markers counted them")
    alerts: int = Field(ge=0, description="the alert versions judging it produced")

    @property
    def release(self) -> tuple[str, date]:
        """The release judged: (dataset, availability date)."""
        return (self.dataset, self.published)


def is_marker(raw: bytes) -> bool:
    """Whether a payload claims to be a marker (cheap: validation happens later)."""
    return _TAG in raw and b'"type"' in raw


def release_markers(
    dataset: str,
    published: date,
    period: str | None,
    counts: dict[tuple[EventType, int], int],
    partitions: dict[EventType, int],
) -> list[tuple[EventType, ReleaseEnd]]:
    """The markers closing one release: one per partition of every topic in ``partitions``.

    ``counts`` holds how many of the release's events went to each (event type, partition).
    """
    topics = tuple(sorted(partitions))
    return [
        (kind, ReleaseEnd(dataset=dataset, published=published, period=period, topics=topics,
                          partition=p, partitions=n, count=counts.get((kind, p), 0)))
        for kind, n in sorted(partitions.items())
        for p in range(n)
    ]  # fmt: skip
