"""Fast decoding: a series' later figures checked field by field against its first.

Figures of one series share everything but period, value, publication date and revision.
:class:`Decoder` validates the first figure of each series fully and checks only those four fields
of the later ones (exactly as the models would), which makes reading a large file several times
faster; anything unusual takes the full validation path and its dead letters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from operator import itemgetter
from typing import Any, Final, NamedTuple

from tutka.inputs.formats import Event, file_origin
from tutka.models.codes import MAX_YEAR, MIN_YEAR, period_after, period_index
from tutka.models.deadletter import DeadLetter, Origin, decode, validate
from tutka.models.events import UnemploymentReported, VacanciesReported

Figure = UnemploymentReported | VacanciesReported
#: Figure fields that change from month to month; everything else is fixed for a whole series.
_VARYING: Final = frozenset({"period", "value", "published", "revision"})
_FIGURE_TYPES: Final = frozenset({"unemployment", "vacancies"})
_SCALARS: Final = (str, int, float, bool, type(None))
ISO_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
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
        #: Valid (period, published) pairs, remembered.
        self.days: dict[tuple[str, str], date] = {}
        #: Figures built from a template (the rest were validated in full).
        self.fast = 0
        #: Cells the source left blank on purpose (suppressed): skipped and counted, since a
        #: statistical office's confidentiality rule is not bad input.
        self.suppressed = 0

    def line(self, text: str, file: str, number: int, now: datetime) -> Event | DeadLetter:
        """One JSON line (as read with ``surrogateescape``)."""
        if text.isascii():  # then it is its own UTF-8, as ``decode`` would have it
            match = CANONICAL_FIGURE.fullmatch(text)
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
        return decode(raw, file_origin(file, number), now)

    def payload(
        self, payload: Any, raw: str, file: str, number: int, now: datetime
    ) -> Event | DeadLetter:
        """An already parsed payload, as :func:`tutka.models.deadletter.validate` would judge it."""
        fast = self.from_template(payload)
        if fast is not None:
            return fast
        return self.validated(payload, raw, file_origin(file, number), now)

    def from_template(self, payload: Any) -> Figure | None:
        """The figure ``payload`` is, made from its series' template; None when there is none
        or the payload needs full validation (:meth:`validated`)."""
        shape = _shape(payload)
        if shape is None:
            return None
        template = self._templates.get(shape)
        update = _varying(payload, self.days) if template is not None else None
        if template is None or update is None:
            return None
        self.fast += 1
        return figure_from(template, update)

    def validated(
        self, payload: Any, raw: str, origin: Origin, now: datetime
    ) -> Event | DeadLetter:
        """``payload`` validated in full (a valid figure becomes its series' template)."""
        result = validate(payload, raw, origin, now)
        self.learn(payload, result)
        return result

    def learn(self, payload: Any, result: object) -> None:
        """Keep ``result``, validated from ``payload``, as its series' template if it is a
        figure the fast path can take after it."""
        if not isinstance(result, UnemploymentReported | VacanciesReported):
            return
        shape = _shape(payload)
        if shape is not None and _varying(payload, self.days) is not None:
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.clear()
            self._templates[shape] = result

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
        update = varying_values(period, float(value), published, int(revision), self.days)
        if update is None:
            return None
        self.fast += 1
        return figure_from(template, update)


def figure_from(template: Figure, update: dict[str, object]) -> Figure:
    """``template.model_copy(update=update)``, for a figure template, at a third of its cost.

    What pydantic's ``model_copy`` does for a model without extra fields or private attributes
    (the figures have neither): a new object with the template's values, ``update`` put over
    them, and the fields set grown by ``update``'s keys. A test holds the two equal.
    """
    cls = type(template)
    figure = cls.__new__(cls)
    values = dict(template.__dict__)
    values.update(update)
    fields_set = set(template.__pydantic_fields_set__)
    fields_set.update(update)
    _set(figure, "__dict__", values)
    _set(figure, "__pydantic_extra__", None)
    _set(figure, "__pydantic_fields_set__", fields_set)
    _set(figure, "__pydantic_private__", None)
    return figure


_set: Final = object.__setattr__


class Pending(NamedTuple):
    """A figure of the fast path not built yet (for a sort that would take it apart again):
    ``figure_from(template, {"period": period, "value": value, "published": published})``."""

    template: Figure
    period: str
    value: float
    published: date
    raw: str
    line: int

    def build(self) -> Figure:
        update = {"period": self.period, "value": self.value, "published": self.published}
        return figure_from(self.template, update)


_STRING = r'"([^"\\\x00-\x1f]*)"'  # a JSON string without escapes (nor control characters)
#: A figure exactly as the models serialise it (``model_dump_json``: what ``tutka simulate``
#: writes), to be parsed without the general JSON decoder.
CANONICAL_FIGURE: Final = re.compile(
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
    match = CANONICAL_FIGURE.fullmatch(text)
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


#: The keys of a canonical figure line, in order (``model_dump_json``'s).
_CANONICAL_KEYS: Final = (
    "schema_version", "area", "period", "sector", "occupation", "value", "published",
    "revision", "source", "type", "measure",
)  # fmt: skip


def _canonical_shape(
    area: str, sector: str | None, occupation: str | None, source: str, kind: str, measure: str
) -> SeriesShape:
    """:func:`_shape` of a canonical line's payload, straight from its parts."""
    return (
        _CANONICAL_KEYS,
        (1, area, sector, occupation, source, kind, measure),
        (int, str, type(sector), type(occupation), str, str, str),
    )


#: Per layout of a figure payload (its keys, in order): what takes its fixed values out, or None
#: when such a payload is never a template. Bounded: hostile input may bring many layouts.
_LAYOUTS: dict[tuple[str, ...], Callable[[dict[str, Any]], tuple[Any, ...]] | None] = {}
_MAX_LAYOUTS: Final = 4096
_SCALAR_TYPES: Final = frozenset(_SCALARS)


def _shape(payload: Any) -> SeriesShape | None:
    """What a figure shares with the rest of its series: its keys (in order), its fixed values
    and their types — the type because ``1 == 1.0 == True`` in Python but not to the models.

    (Read for every figure the worker takes: the layout's work is done once per layout, and the
    values are taken out by one ``itemgetter`` call.)
    """
    if type(payload) is not dict or not is_figure_type(payload.get("type")):
        return None
    keys = tuple(payload)
    fixed_of = _LAYOUTS.get(keys, _ABSENT)
    if fixed_of is _ABSENT:
        fixed_of = _layout(keys)
    if fixed_of is None:
        return None
    values = fixed_of(payload)  # type: ignore[operator]
    types = tuple(map(type, values))
    if not _SCALAR_TYPES.issuperset(types):
        return None  # (a list or an object where a code should be: for the models to judge)
    return (keys, values, types)


def _layout(keys: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]] | None:
    """How to take the fixed values out of a payload with ``keys``; remembered."""
    fixed_of: Callable[[dict[str, Any]], tuple[Any, ...]] | None
    if "previous_value" in keys:
        # A revision's record of what it replaced: rare, and checked against revision.
        fixed_of = None
    else:
        fixed = [key for key in keys if key not in _VARYING]  # ("type" at least)
        getter = itemgetter(*fixed)
        fixed_of = getter if len(fixed) > 1 else (lambda payload: (getter(payload),))
    if len(_LAYOUTS) >= _MAX_LAYOUTS:
        _LAYOUTS.clear()
    _LAYOUTS[keys] = fixed_of
    return fixed_of


def is_figure_type(kind: object) -> bool:
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
    return varying_values(
        payload.get("period"), payload.get("value"), payload.get("published"), revision, days
    )


def varying_values(
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
    if not ISO_DAY.fullmatch(published):
        return None
    try:
        period_index(period)
        day = date.fromisoformat(published)
    except ValueError:
        return None
    if not MIN_YEAR <= day.year <= MAX_YEAR or day < period_after(period):
        return None
    return day
