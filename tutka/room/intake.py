"""Notice intake in the room: an analyst's spreadsheet validated, accounted for, published once.

The upload is read by the same reader and models as ``tutka notices import``
(:mod:`tutka.inputs.notice_sheet`): no second validator. Staff scoped to an ELY area may file
notices for the municipalities under it only; a row outside is a rejected row with its reason,
never dropped. Every row ends accepted, rejected or blank, and the counts reconcile.

The accepted notices go out through the room's :class:`NoticeOutlet`: the notices topic (Kafka
mode: the worker turns them into alerts, which come back on the alerts topic) or the embedded
store plus the in-process engine (embedded mode: the alerts show up in the picture at once).

An upload carries an ``Idempotency-Key``: the same key from the same member of staff answers
with the first result and publishes nothing again (a retried request after a lost answer); the
same key with another file is a conflict. Results are kept in memory, the latest
:data:`KEEP_RESULTS` of them; past that, the engine's own notice-id deduplication still keeps a
repeated notice from counting twice.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from tutka.inputs.notice_sheet import SheetResult, outside_scope, parse_upload, restrict
from tutka.models.access import Principal
from tutka.models.areas import Hierarchy
from tutka.models.events import LayoffNoticeFiled
from tutka.worker.notice_store import append_store, send_notices

#: Upload results kept for idempotent retries and the rejected rows' CSV.
KEEP_RESULTS: Final = 500


class NoticeOutlet(Protocol):
    """Where a room sends accepted notices."""

    @property
    def where(self) -> str: ...

    def publish(self, notices: Sequence[LayoffNoticeFiled]) -> None: ...


@dataclass
class EmbeddedOutlet:
    """The embedded store (JSON lines; the room reads it again at its next start) and the
    in-process engine, which takes them in after its replay (:attr:`inbox`)."""

    store: Path
    inbox: queue.Queue[list[LayoffNoticeFiled]] = field(default_factory=queue.Queue)

    @property
    def where(self) -> str:
        return self.store.name  # (the server's directories are none of the page's business)

    def publish(self, notices: Sequence[LayoffNoticeFiled]) -> None:
        append_store(self.store, notices)
        self.inbox.put(list(notices))


@dataclass
class KafkaOutlet:
    """The notices topic, keyed by municipality, every send acknowledged before the answer."""

    producer: Any
    topic: str

    @property
    def where(self) -> str:
        return self.topic

    def publish(self, notices: Sequence[LayoffNoticeFiled]) -> None:
        send_notices(self.producer, self.topic, notices)


def validate_upload(
    raw: bytes, filename: str, user: Principal, hierarchy: Hierarchy
) -> SheetResult:
    """The upload's rows as notices or rejected rows, the sender's scope applied.

    Raises ``ValueError`` for a file that is not a spreadsheet at all (nothing is published).
    """
    result = parse_upload(raw, filename, hierarchy)
    if not user.national:
        result = restrict(
            result,
            lambda n: hierarchy.contains(user.scope, n.municipality),
            lambda n: outside_scope(n.municipality, user.scope),
        )
    if not result.complete:  # the reader's invariant; never publish a sheet that lost a row
        raise RuntimeError(f"{filename}: rows do not reconcile")
    return result


@dataclass(frozen=True)
class Upload:
    """One upload's outcome, kept for a retry and for the rejected rows' CSV."""

    id: str
    user: str
    digest: str
    filename: str
    result: SheetResult
    published_to: str


def import_id(user: str, key: str) -> str:
    """A stable id for an upload (the same user and key: the same id)."""
    return "imp-" + hashlib.sha256(f"{user}\0{key}".encode()).hexdigest()[:16]


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class Uploads:
    """The latest uploads by id, and a lock per key so that two concurrent requests with one key
    publish once."""

    def __init__(self, keep: int = KEEP_RESULTS) -> None:
        self.keep = keep
        self._done: OrderedDict[str, Upload] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, upload_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(upload_id, threading.Lock())

    def get(self, upload_id: str) -> Upload | None:
        with self._guard:
            return self._done.get(upload_id)

    def add(self, upload: Upload) -> None:
        with self._guard:
            self._done[upload.id] = upload
            while len(self._done) > self.keep:
                old, _ = self._done.popitem(last=False)
                self._locks.pop(old, None)
