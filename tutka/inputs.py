"""Reading input files into events and dead letters (the file boundary of the embedded runner).

Accepted, optionally gzip-compressed (``.gz``):

* JSON lines (``*.jsonl``): one event per line, any of the three types, each with its
  ``type`` discriminator (``layoff_notice``, ``unemployment``, ``vacancies``);
* Statistics Finland's long CSV from PxWeb: ``month,area,measure,value`` (table 12r5) or
  ``month,area,occupation,measure,value`` (table 12ti), with measure codes such as
  ``TYOTTOMATLOPUSSA``, ``TYOVOIMATK`` and ``AVPAIKATLOPUSSA``. A CSV has no publication date:
  each figure is taken as published on the 25th of the following month, as the employment
  service statistics are.

A directory means every such file in it, in name order; CSV files in a directory that are not in
the long format (such as a ground-truth ``truth.csv`` beside the data) are skipped.

Order. The pipeline needs its input in availability order
(:func:`tutka.streams.ordering.ordering_key`). :func:`scan_order` reads a file once, cheaply (JSON
or CSV parsing only, no validation), and says how it is ordered, so that the replay can stream it
instead of holding everything in memory:

* ``sorted``: already in availability order (what ``tutka simulate`` writes);
* ``by_day``: the availability days never go back, but the order within a day differs (Statistics
  Finland's tables: month by month, then area and measure code); sorted one day at a time;
* ``unsorted``: anything else; the file is read whole and sorted in memory.

Decoding. Figures of one series share everything but period, value, publication date and
revision. :class:`Decoder` validates the first figure of each series fully and checks only those
four fields of the later ones (exactly as the models would), which makes reading a large file
several times faster; anything unusual takes the full validation path and its dead letters.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, Final, Literal

from tutka.models.codes import MAX_YEAR, MIN_YEAR, period_after, period_index
from tutka.models.deadletter import DeadLetter, Origin, dead_letter, decode, validate
from tutka.models.events import (
    PXWEB_MEASURES,
    LayoffNoticeFiled,
    UnemploymentMeasure,
    UnemploymentReported,
    VacanciesReported,
    VacancyMeasure,
)

Event = LayoffNoticeFiled | UnemploymentReported | VacanciesReported
SUFFIXES: Final = (".jsonl", ".csv")
DATA_COLUMNS: Final = frozenset({"month", "area", "measure", "value"})
PUBLICATION_DAY: Final = 25
#: Statistics Finland's code for "all" in a classification column.
ALL: Final = "SSS"


@dataclass(frozen=True, slots=True)
class Record:
    """One input item: the event it became (or the dead letter) and the raw text behind it."""

    item: Event | DeadLetter
    raw: str
    file: str
    line: int

    @property
    def origin(self) -> Origin:
        return _origin(self.file, self.line)


def _origin(file: str, line: int) -> Origin:
    # Built on demand: only a dead letter needs it, and a pydantic model per line is not free.
    return Origin(source="file", file=file, line=line)


class InputError(Exception):
    """An input that cannot be read at all (missing, unreadable, unknown format)."""


def input_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if _is_input(p) and _is_data(p))
            if not found:
                raise InputError(f"{path} contains no .jsonl or .csv input files")
            files.extend(found)
        elif path.is_file():
            if not _is_input(path):
                raise InputError(
                    f"{path}: unknown input format (expected .jsonl or .csv, optionally .gz)"
                )
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    return files


def _is_data(path: Path) -> bool:
    """JSON lines always; a CSV only if it is in Statistics Finland's long format."""
    if not path.name.removesuffix(".gz").endswith(".csv"):
        return True
    try:
        with _open(path) as handle:
            header = next(csv.reader(handle), [])
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError):
        return True  # let reading it report the problem
    return {c.strip().lstrip("\ufeff") for c in header} >= DATA_COLUMNS


def _is_input(path: Path) -> bool:
    name = path.name.removesuffix(".gz")
    return path.is_file() and name.endswith(SUFFIXES)


def read_records(
    path: Path, received_at: datetime | None = None, decoder: Decoder | None = None
) -> Iterator[Record]:
    """Every line of ``path`` as a record; bad lines become dead letters, never exceptions."""
    now = received_at or datetime.now(UTC)
    decoder = decoder if decoder is not None else Decoder()
    try:
        with _open(path) as handle:
            if _is_csv(path):
                yield from _csv_records(handle, str(path), now, decoder)
            else:
                yield from _jsonl_records(handle, str(path), now, decoder)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def _is_csv(path: Path) -> bool:
    return path.name.removesuffix(".gz").endswith(".csv")


def _open(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="surrogateescape")
    return path.open("r", encoding="utf-8", errors="surrogateescape", newline="")


def _jsonl_records(handle: IO[str], file: str, now: datetime, decoder: Decoder) -> Iterator[Record]:
    for number, line in enumerate(handle, start=1):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        yield Record(decoder.line(text, file, number, now), text, file, number)


def _csv_records(handle: IO[str], file: str, now: datetime, decoder: Decoder) -> Iterator[Record]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        return
    columns = [c.strip().lstrip("\ufeff") for c in header]
    if not set(columns) >= DATA_COLUMNS:
        raise InputError(
            f"{file}: CSV header {columns} lacks month, area, measure and value "
            "(Statistics Finland's long format)"
        )
    source = Path(file).name.split(".")[0][:64] or "csv"
    for row in reader:
        number = reader.line_num
        raw = ",".join(row)
        if len(row) != len(columns):
            yield Record(
                _bad(
                    raw,
                    _origin(file, number),
                    now,
                    "csv_columns",
                    f"expected {len(columns)} columns, got {len(row)}",
                ),
                raw,
                file,
                number,
            )
            continue
        event = _csv_event(
            dict(zip(columns, row, strict=True)), raw, file, number, now, source, decoder
        )
        yield Record(event, raw, file, number)


def _csv_event(
    row: dict[str, str],
    raw: str,
    file: str,
    number: int,
    now: datetime,
    source: str,
    decoder: Decoder,
) -> Event | DeadLetter:
    code = row["measure"].strip()
    measure = PXWEB_MEASURES.get(code) or _own_measure(code)
    if measure is None:
        known = ", ".join(sorted(PXWEB_MEASURES))
        return _bad(
            raw,
            _origin(file, number),
            now,
            "unknown_measure",
            f"measure {code!r} is not one of {known}",
        )
    value_text = row["value"].strip()
    if value_text in ("", ".", "..", "-"):
        return _bad(
            raw,
            _origin(file, number),
            now,
            "missing_value",
            f"no value for {row['area']} {row['month']} {code}",
        )
    try:
        value: float | str = float(value_text.replace(",", "."))
    except ValueError:
        value = value_text  # let validation say what is wrong with it
    month = row["month"].strip()
    payload: dict[str, object] = {
        "type": "unemployment" if isinstance(measure, UnemploymentMeasure) else "vacancies",
        "area": row["area"].strip(),
        "period": month,
        "measure": measure.value,
        "value": value,
        "published": _published(month),
        "source": source,
    }
    occupation = row.get("occupation", ALL).strip()
    if occupation and occupation != ALL:
        payload["occupation"] = occupation
    return decoder.payload(payload, raw, file, number, now)


def _own_measure(code: str) -> UnemploymentMeasure | VacancyMeasure | None:
    """Our own measure names are accepted in CSV too (e.g. ``unemployed_jobseekers``)."""
    for enum in (UnemploymentMeasure, VacancyMeasure):
        try:
            return enum(code)  # type: ignore[return-value]
        except ValueError:
            continue
    return None


def _published(month: str) -> str:
    """The 25th of the following month; a malformed month is left for validation to report."""
    try:
        index = period_index(month) + 1
    except ValueError:
        return "1970-01-01"
    return date(index // 12, index % 12 + 1, PUBLICATION_DAY).isoformat()


def _bad(raw: str, origin: Origin, now: datetime, error_type: str, summary: str) -> DeadLetter:
    return dead_letter(raw, origin, now, "validation", error_type, summary)


# -- fast decoding -------------------------------------------------------------------------------

Figure = UnemploymentReported | VacanciesReported
#: Figure fields that change from month to month; everything else is fixed for a whole series.
_VARYING: Final = frozenset({"period", "value", "published", "revision"})
_FIGURE_TYPES: Final = frozenset({"unemployment", "vacancies"})
_SCALARS: Final = (str, int, float, bool, type(None))
_ISO_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Series templates kept by a decoder; past this many it starts afresh, so memory stays bounded.
MAX_TEMPLATES: Final = 1 << 20

SeriesShape = tuple[object, ...]


class Decoder:
    """Decodes lines and payloads as :func:`tutka.models.deadletter.decode`, faster for figures.

    The first valid figure of every series (same fields and fixed values) is validated in full
    and kept as a template. A later figure of the series is the template with its period,
    value, publication date and revision replaced, after checking just those four fields the
    way the models do (types, ranges, month format, plausible date, published after the
    period). Those fields cannot hold a personal identity code in any valid form, and the
    fields that could are the template's, already checked. Anything the fast path does not
    recognise goes through full validation, so dead letters are exactly those of ``decode``.

    >>> from tutka.models.deadletter import EPOCH
    >>> line = ('{"type":"vacancies","area":"SSS","period":"2023-09",'
    ...         '"measure":"new_in_month","value":5.0,"published":"2023-10-25"}')
    >>> decoder = Decoder()
    >>> first = decoder.line(line, "x.jsonl", 1, EPOCH)
    >>> second = decoder.line(line.replace("5.0", "7.0"), "x.jsonl", 2, EPOCH)
    >>> second.value, decoder.fast
    (7.0, 1)
    """

    def __init__(self) -> None:
        self._templates: dict[SeriesShape, Figure] = {}
        self._days: dict[tuple[str, str], date] = {}  # valid (period, published) pairs
        #: Figures built from a template (the rest were validated in full).
        self.fast = 0

    def line(self, text: str, file: str, number: int, now: datetime) -> Event | DeadLetter:
        """One JSON line (as read with ``surrogateescape``)."""
        if text.isascii():  # then it is its own UTF-8, as ``decode`` would have it
            match = _CANONICAL_FIGURE.fullmatch(text)
            try:
                if match is not None:
                    event = self._from_groups(match.groups())
                    if event is not None:
                        return event
                    payload = _payload_of(match.groups())
                else:
                    payload = json.loads(text)
            except (ValueError, RecursionError):
                pass  # ``decode`` makes the dead letter
            else:
                return self.payload(payload, text, file, number, now)
        raw = text.encode("utf-8", errors="surrogateescape")
        return decode(raw, _origin(file, number), now)

    def payload(
        self, payload: Any, raw: str, file: str, number: int, now: datetime
    ) -> Event | DeadLetter:
        """An already parsed payload, as :func:`tutka.models.deadletter.validate` would judge it."""
        shape = _shape(payload)
        if shape is not None:
            template = self._templates.get(shape)
            update = _varying(payload, self._days) if template is not None else None
            if template is not None and update is not None:
                self.fast += 1
                return template.model_copy(update=update)
        result = validate(payload, raw, _origin(file, number), now)
        if (
            shape is not None
            and isinstance(result, UnemploymentReported | VacanciesReported)
            and _varying(payload, self._days) is not None
        ):
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.clear()
            self._templates[shape] = result
        return result

    def _from_groups(self, groups: tuple[Any, ...]) -> Figure | None:
        """A canonical line's figure from its template, without building the payload; None
        when there is no template or the line needs full validation."""
        area, period, sector, occupation, value, fraction, exponent = groups[:7]
        published, revision, source, kind, measure = groups[7:]
        template = self._templates.get(
            _canonical_shape(area, sector, occupation, source, kind, measure)
        )
        if template is None or (fraction is None and exponent is None):
            return None  # (an integer value is for the models to judge)
        update = _varying_values(period, float(value), published, int(revision), self._days)
        if update is None:
            return None
        self.fast += 1
        return template.model_copy(update=update)


_STRING = r'"([^"\\\x00-\x1f]*)"'  # a JSON string without escapes (nor control characters)
#: A figure exactly as the models serialise it (``model_dump_json``: what ``tutka simulate``
#: writes), to be parsed without the general JSON decoder.
_CANONICAL_FIGURE: Final = re.compile(
    r'\{"schema_version":1,"area":' + _STRING + r',"period":' + _STRING + ","
    r'"sector":(?:null|' + _STRING + r'),"occupation":(?:null|' + _STRING + "),"
    r'"value":(-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?),"published":' + _STRING + ","
    r'"revision":(0|[1-9][0-9]*),"source":' + _STRING + r',"type":"(unemployment|vacancies)",'
    r'"measure":' + _STRING + r"\}"
)


def parse_json(text: str) -> Any:
    """``json.loads(text)``; a canonical figure line (see above) by a pattern, three times faster.

    A line the pattern matches holds nothing but those keys, plain strings, ``null`` and
    numbers in JSON's own syntax, so the dict built from it is the one ``json.loads`` returns.

    >>> line = ('{"schema_version":1,"area":"SSS","period":"2023-09","sector":null,'
    ...         '"occupation":"2221","value":5.0,"published":"2023-10-25","revision":0,'
    ...         '"source":"synthetic","type":"vacancies","measure":"new_in_month"}')
    >>> parse_json(line) == json.loads(line)
    True
    """
    match = _CANONICAL_FIGURE.fullmatch(text)
    return json.loads(text) if match is None else _payload_of(match.groups())


def _payload_of(groups: tuple[Any, ...]) -> dict[str, Any]:
    area, period, sector, occupation, value, fraction, exponent = groups[:7]
    published, revision, source, kind, measure = groups[7:]
    return {
        "schema_version": 1,
        "area": area,
        "period": period,
        "sector": sector,
        "occupation": occupation,
        # JSON: a number with a fraction or an exponent is a float, any other an integer.
        "value": float(value) if fraction is not None or exponent is not None else int(value),
        "published": published,
        "revision": int(revision),
        "source": source,
        "type": kind,
        "measure": measure,
    }


def _canonical_shape(
    area: str, sector: str | None, occupation: str | None, source: str, kind: str, measure: str
) -> SeriesShape:
    """:func:`_shape` of a canonical line's payload, straight from its parts."""
    return (
        ("schema_version", int, 1),
        ("area", str, area),
        "period",
        ("sector", type(sector), sector),
        ("occupation", type(occupation), occupation),
        "value",
        "published",
        "revision",
        ("source", str, source),
        ("type", str, kind),
        ("measure", str, measure),
    )


def _shape(payload: Any) -> SeriesShape | None:
    """What a figure shares with the rest of its series: its keys and fixed values, typed.

    The type is part of it because ``1 == 1.0 == True`` in Python but not to the models.
    """
    if type(payload) is not dict or not _is_figure_type(payload.get("type")):
        return None
    parts: list[object] = []
    for key, value in payload.items():
        if key in _VARYING:
            parts.append(key)
        elif isinstance(value, _SCALARS):
            parts.append((key, type(value), value))
        else:
            return None
    return tuple(parts)


def _is_figure_type(kind: object) -> bool:
    return type(kind) is str and kind in _FIGURE_TYPES


_ABSENT: Final = object()


def _varying(
    payload: dict[str, Any], days: dict[tuple[str, str], date]
) -> dict[str, object] | None:
    """The month-to-month fields, checked as the models check them; None if in any doubt."""
    revision = payload.get("revision", _ABSENT)
    if revision is _ABSENT:
        revision = None
    elif type(revision) is not int:  # (null too: present, and not an integer)
        return None
    return _varying_values(
        payload.get("period"), payload.get("value"), payload.get("published"), revision, days
    )


def _varying_values(
    period: object,
    value: object,
    published: object,
    revision: int | None,
    days: dict[tuple[str, str], date],
) -> dict[str, object] | None:
    """The update for a template, or None; ``revision`` None when the payload has none."""
    if type(period) is not str or type(value) is not float or type(published) is not str:
        return None
    if not 0.0 <= value <= 1e9:  # nan fails it too
        return None
    day = days.get((period, published))
    if day is None:
        day = _publication_day(period, published)
        if day is None:
            return None
        if len(days) >= MAX_TEMPLATES:
            days.clear()
        days[(period, published)] = day
    update: dict[str, object] = {"period": period, "value": value, "published": day}
    if revision is not None:
        if revision < 0:
            return None
        update["revision"] = revision
    return update


def _publication_day(period: str, published: str) -> date | None:
    """The publication date of a valid (period, published) pair; None if the models object."""
    if not _ISO_DAY.fullmatch(published):
        return None
    try:
        period_index(period)
        day = date.fromisoformat(published)
    except ValueError:
        return None
    if not MIN_YEAR <= day.year <= MAX_YEAR or day < period_after(period):
        return None
    return day


# -- order ---------------------------------------------------------------------------------------

OrderMode = Literal["sorted", "by_day", "unsorted"]
#: A raw ordering key: the availability day (ISO text) first, then as ``ordering_key``.
RawKey = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class FileOrder:
    """How an input file is ordered, and how many records it holds (lines or data rows)."""

    path: Path
    mode: OrderMode
    records: int


class _Unknown:
    """A line whose place in the order cannot be told without validating it."""


_UNKNOWN: Final = _Unknown()


def scan_order(path: Path) -> FileOrder:
    """Read ``path`` once, without validation, and classify its order (see the module doc).

    Lines that can only become dead letters (not JSON, no known type, a CSV row with a missing
    value …) take no place in the order. A line whose place is unclear without validation
    (an odd type in a key field) makes the file ``unsorted``: the safe, in-memory way.
    """
    try:
        with _open(path) as handle:
            if not _is_csv(path):
                lines = (line for line in handle if line.strip())
                return _classify(path, lines, _json_key)
            reader = csv.reader(handle)
            columns = [c.strip().lstrip("\ufeff") for c in next(reader, [])]
            if not set(columns) >= DATA_COLUMNS:
                return FileOrder(path, "unsorted", 0)  # reading it will say what is wrong

            def key(row: list[str]) -> RawKey | _Unknown | None:
                return _csv_key(columns, row)

            return _classify(path, reader, key)
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def _classify(
    path: Path, items: Iterator[Any], key_of: Callable[[Any], RawKey | _Unknown | None]
) -> FileOrder:
    mode: OrderMode = "sorted"
    count = 0
    last: RawKey | None = None
    for item in items:
        count += 1
        if mode == "unsorted":
            continue  # only counting now
        key = key_of(item)
        if key is None:
            continue
        if isinstance(key, _Unknown):
            mode = "unsorted"
            continue
        if last is not None and key < last:  # type: ignore[operator]
            if key[0] < last[0]:  # type: ignore[operator]
                mode = "unsorted"  # the availability day went back
                continue
            mode = "by_day"
        last = key
    return FileOrder(path, mode, count)


def _json_key(line: str) -> RawKey | _Unknown | None:
    text = line.rstrip("\r\n")
    match = _CANONICAL_FIGURE.fullmatch(text)
    if match is not None:  # the common case, without building the dict
        area, period, sector, occupation = match.group(1, 2, 3, 4)
        published, revision, measure = match.group(8, 9, 12)
        if not (_PERIOD_TEXT.fullmatch(period) and _ISO_DAY.fullmatch(published)):
            return _UNKNOWN
        index = int(period[:4]) * 12 + int(period[5:]) - 1
        return (published, 0, index, area, measure, sector or "", occupation or "", int(revision))
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return None  # not JSON: a dead letter
    if type(payload) is not dict:
        return None  # not an object: a dead letter
    kind = payload.get("type")
    if kind != "layoff_notice" and not _is_figure_type(kind):
        return None  # no event type: the discriminated union rejects it
    revision = payload.get("revision", 0)
    if type(revision) is not int:
        return _UNKNOWN
    if kind == "layoff_notice":
        announced, notice_id = payload.get("announced"), payload.get("notice_id")
        if _is_day(announced) and type(notice_id) is str:
            return (announced, 1, notice_id, revision)
        return _UNKNOWN
    published, period = payload.get("published"), payload.get("period")
    area, measure = payload.get("area"), payload.get("measure")
    sector, occupation = payload.get("sector"), payload.get("occupation")
    if not (
        _is_day(published)
        and type(period) is str
        and _PERIOD_TEXT.fullmatch(period)
        and type(area) is str
        and type(measure) is str
        and (sector is None or type(sector) is str)
        and (occupation is None or type(occupation) is str)
    ):
        return _UNKNOWN
    index = int(period[:4]) * 12 + int(period[5:]) - 1
    return (published, 0, index, area, measure, sector or "", occupation or "", revision)


_PERIOD_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}")


def _is_day(value: object) -> bool:
    return type(value) is str and _ISO_DAY.fullmatch(value) is not None


def _csv_key(columns: list[str], row: list[str]) -> RawKey | None:
    """The ordering key of the figure a CSV row becomes (see ``_csv_event``); None: dead."""
    if len(row) != len(columns):
        return None
    fields = dict(zip(columns, row, strict=True))
    code = fields["measure"].strip()
    measure = PXWEB_MEASURES.get(code) or _own_measure(code)
    if measure is None or fields["value"].strip() in ("", ".", "..", "-"):
        return None
    month = fields["month"].strip()
    try:
        index = period_index(month)
    except ValueError:
        return None  # the period fails validation
    occupation = fields.get("occupation", ALL).strip()
    occupation = "" if occupation == ALL else occupation
    return (_published(month), 0, index, fields["area"].strip(), measure.value, "", occupation, 0)
