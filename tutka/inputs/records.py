"""An input record: what one line (or row) of an input file became, beside its raw text."""

from __future__ import annotations

from typing import NamedTuple

from tutka.inputs.formats import Event, file_origin
from tutka.models.deadletter import DeadLetter, Origin


class Record(NamedTuple):
    """One input item: the event it became (or the dead letter) and the raw text behind it.

    (A named tuple: a replay makes one per record of its input, millions, and builds it in C.)
    """

    item: Event | DeadLetter
    raw: str
    file: str
    line: int

    @property
    def origin(self) -> Origin:
        return file_origin(self.file, self.line)
