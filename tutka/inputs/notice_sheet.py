"""Layoff notices from the spreadsheets ELY centres keep: rows in, notices or reasons out.

A spreadsheet (``.xlsx`` through openpyxl, or ``.csv``) with one notice per row and a header row
whose column names may be English (the model's field names) or Finnish or Swedish
(``työnantaja``, ``y-tunnus``, ``kunta``, ``toimiala``, ``laji``, ``henkilöt``, ...). Every
non-empty row ends as exactly one of: a :class:`LayoffNoticeFiled` validated by the same model
the pipeline reads, or a :class:`RejectedRow` with its line number and the reasons in Finnish,
Swedish and English. No row is lost: ``read + blank == accepted + rejected + blank``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from tutka.models.alerts import Localized
from tutka.models.areas import Hierarchy
from tutka.models.events import LayoffNoticeFiled, NoticeKind

#: Column names (normalised: lower case, no spaces, hyphens or underscores) -> model field.
COLUMNS: Final[dict[str, str]] = {
    **{k: "notice_id" for k in ("noticeid", "id", "ilmoitus", "ilmoitusnumero", "ilmoitusid",
                                "tunnus", "anmälan", "anmälningsnummer")},
    **{k: "employer" for k in ("employer", "työnantaja", "tyonantaja", "yritys", "arbetsgivare",
                               "företag")},
    **{k: "business_id" for k in ("businessid", "ytunnus", "fonummer", "fosigneum")},
    **{k: "municipality" for k in ("municipality", "kunta", "kuntakoodi", "kommun")},
    **{k: "sector" for k in ("sector", "toimiala", "tol", "tol2008", "näringsgren", "bransch")},
    **{k: "kind" for k in ("kind", "laji", "tyyppi", "toimenpide", "typ", "åtgärd")},
    **{k: "persons" for k in ("persons", "henkilöt", "henkilömäärä", "henkilöitä", "lukumäärä",
                              "määrä", "antal", "personer")},
    **{k: "announced" for k in ("announced", "ilmoitettu", "ilmoituspäivä", "päivämäärä",
                                "anmäld", "anmälningsdatum")},
    **{k: "effective_from" for k in ("effectivefrom", "alkaen", "alkupäivä", "voimaan",
                                     "alkamispäivä", "från", "fromdate")},
    **{k: "effective_to" for k in ("effectiveto", "päättyen", "loppupäivä", "asti",
                                   "päättymispäivä", "till", "todate")},
    **{k: "occupations" for k in ("occupations", "ammatit", "ammatti", "ammattikoodit", "yrken")},
    **{k: "source" for k in ("source", "lähde", "källa")},
    **{k: "revision" for k in ("revision", "versio", "version")},
}  # fmt: skip

#: Notice kinds as staff write them, in three languages.
KINDS: Final[dict[str, NoticeKind]] = {
    **{k.value: k for k in NoticeKind},
    "irtisanominen": NoticeKind.DISMISSAL, "irtisanomiset": NoticeKind.DISMISSAL,
    "uppsägning": NoticeKind.DISMISSAL, "uppsägningar": NoticeKind.DISMISSAL,
    "lomautus": NoticeKind.TEMPORARY_LAYOFF, "lomautukset": NoticeKind.TEMPORARY_LAYOFF,
    "permittering": NoticeKind.TEMPORARY_LAYOFF, "temporary layoff": NoticeKind.TEMPORARY_LAYOFF,
    "osa-aikainen lomautus": NoticeKind.PART_TIME_LAYOFF,
    "deltidspermittering": NoticeKind.PART_TIME_LAYOFF,
    "part-time layoff": NoticeKind.PART_TIME_LAYOFF,
    "lopettaminen": NoticeKind.CLOSURE, "toiminnan lopettaminen": NoticeKind.CLOSURE,
    "lakkauttaminen": NoticeKind.CLOSURE, "nedläggning": NoticeKind.CLOSURE,
}  # fmt: skip

_FIELD_NAMES: Final[dict[str, tuple[str, str, str]]] = {
    "notice_id": ("ilmoitusnumero", "anmälningsnummer", "notice id"),
    "employer": ("työnantaja", "arbetsgivare", "employer"),
    "business_id": ("Y-tunnus", "FO-nummer", "business id"),
    "municipality": ("kunta", "kommun", "municipality"),
    "sector": ("toimiala", "näringsgren", "sector"),
    "kind": ("laji", "typ", "kind"),
    "persons": ("henkilömäärä", "antal personer", "persons"),
    "announced": ("ilmoituspäivä", "anmälningsdatum", "announced"),
    "effective_from": ("alkamispäivä", "startdatum", "effective from"),
    "effective_to": ("päättymispäivä", "slutdatum", "effective to"),
    "occupations": ("ammatit", "yrken", "occupations"),
    "source": ("lähde", "källa", "source"),
    "revision": ("versio", "version", "revision"),
}
_FI_DATE: Final = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that is not a valid notice: where it is and why, in three languages."""

    line: int
    reasons: tuple[Localized, ...]
    notice_id: str | None = None


@dataclass(slots=True)
class SheetResult:
    """What a spreadsheet held: notices, rejected rows, and the counts that reconcile."""

    notices: list[tuple[int, LayoffNoticeFiled]] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    rows: int = 0
    blank: int = 0
    ignored_columns: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Every row is accounted for (the invariant the importer guarantees)."""
        return self.rows == len(self.notices) + len(self.rejected) + self.blank


#: Suffixes read as a workbook (openpyxl) and as delimited text.
WORKBOOK_SUFFIXES: Final = (".xlsx", ".xlsm")
TEXT_SUFFIXES: Final = (".csv", ".txt")

Rows = tuple[list[str], Iterator[tuple[int, list[Any]]]]


def read_rows(path: Path) -> Rows:
    """The header and the numbered data rows of an ``.xlsx`` (first sheet) or ``.csv`` file.

    Line numbers are the spreadsheet's own (the header is line 1). Raises ``ValueError`` for a
    file that cannot be read as a spreadsheet at all.
    """
    suffix = path.suffix.lower()
    if suffix not in WORKBOOK_SUFFIXES + TEXT_SUFFIXES:
        raise ValueError(f"{path}: not a spreadsheet this importer reads (.xlsx or .csv)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from exc
    return read_bytes(raw, path.name, label=str(path))


def read_bytes(raw: bytes, name: str, label: str | None = None) -> Rows:
    """:func:`read_rows` for the bytes of a file called ``name`` (an upload): the suffix of
    ``name`` says which reader, as for a file on disk."""
    label = label or name
    suffix = Path(name).suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return _xlsx_rows(raw, label)
    if suffix in TEXT_SUFFIXES:
        return _csv_rows(raw, label)
    raise ValueError(f"{label}: not a spreadsheet this importer reads (.xlsx or .csv)")


def _xlsx_rows(raw: bytes, label: str) -> Rows:
    from openpyxl import load_workbook

    # A workbook is untrusted input (an upload): whatever a corrupt one makes openpyxl, zipfile
    # or the XML parser raise, the answer is the same "cannot read", never a crash.
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
    except Exception as exc:
        raise ValueError(f"{label}: cannot read the workbook: {exc}") from exc
    if header is None:
        raise ValueError(f"{label}: the first sheet is empty")

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        line = 1
        try:
            for line, row in enumerate(rows, start=2):
                yield line, list(row)
        except Exception as exc:
            raise ValueError(f"{label}: cannot read the workbook after line {line}: {exc}") from exc
        finally:
            book.close()

    return [str(h or "") for h in header], numbered()


def _csv_rows(raw: bytes, label: str) -> Rows:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # Excel's "CSV" on Finnish Windows
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ValueError(f"{label}: not readable as CSV: {exc}") from exc
    if header is None:
        raise ValueError(f"{label}: the file is empty")

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        # csv counts physical lines: a quoted cell may span several.
        try:
            for row in reader:
                yield reader.line_num, list(row)
        except csv.Error as exc:  # (a NUL byte, say): the file as a whole is refused
            raise ValueError(f"{label}: not readable as CSV after line {reader.line_num}: "
                             f"{exc}") from exc  # fmt: skip

    return header, numbered()


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.strip().lower())


def parse_sheet(path: Path, hierarchy: Hierarchy | None = None) -> SheetResult:
    """Every row of the spreadsheet at ``path`` as a notice or a rejected row."""
    return parse_rows(*read_rows(path), hierarchy)


def parse_upload(raw: bytes, name: str, hierarchy: Hierarchy | None = None) -> SheetResult:
    """Every row of an uploaded spreadsheet (its bytes, its file name) as :func:`parse_sheet`
    reads a file: the room's upload and the command line validate alike."""
    return parse_rows(*read_bytes(raw, name), hierarchy)


def parse_rows(
    header: list[str], rows: Iterator[tuple[int, list[Any]]], hierarchy: Hierarchy | None = None
) -> SheetResult:
    """Every numbered row under ``header`` as a notice or a rejected row."""
    columns = {i: COLUMNS.get(_normalise(h)) for i, h in enumerate(header)}
    mapped = {f for f in columns.values() if f is not None}
    result = SheetResult(
        ignored_columns=tuple(h for i, h in enumerate(header) if columns[i] is None and h),
        missing_columns=tuple(
            f for f in ("notice_id", "employer", "business_id", "municipality", "sector",
                        "kind", "persons", "announced", "effective_from") if f not in mapped
        ),
    )  # fmt: skip
    seen: dict[tuple[str, int], int] = {}
    for line, cells in rows:
        result.rows += 1
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            result.blank += 1
            continue
        record = {columns[i]: cell for i, cell in enumerate(cells) if columns.get(i)}
        item = row_to_notice(line, record, hierarchy)
        if isinstance(item, RejectedRow):
            result.rejected.append(item)
            continue
        key = (item.notice_id, item.revision)
        if key in seen:
            result.rejected.append(RejectedRow(line, (_duplicate(item.notice_id, seen[key]),),
                                               item.notice_id))  # fmt: skip
            continue
        seen[key] = line
        result.notices.append((line, item))
    return result


def row_to_notice(
    line: int, record: Mapping[str | None, Any], hierarchy: Hierarchy | None = None
) -> LayoffNoticeFiled | RejectedRow:
    """One row (model field -> cell) as a validated notice, or the reasons it is not one."""
    data: dict[str, Any] = {}
    for name, cell in record.items():
        if name is None:
            continue
        value = _cell(name, cell)
        if value is not None:
            data[name] = value
    raw_id = data.get("notice_id")
    notice_id = None if raw_id is None else str(raw_id)
    try:
        notice = LayoffNoticeFiled.model_validate(data)
    except ValidationError as exc:
        return RejectedRow(line, tuple(_reason(e) for e in exc.errors()), notice_id)
    if hierarchy is not None and notice.municipality not in hierarchy:
        return RejectedRow(line, (_unknown_municipality(notice.municipality),), notice_id)
    return notice


def _cell(name: str, cell: Any) -> Any:
    """A spreadsheet cell as the model expects the field (dates, whole numbers, codes)."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, str):
        cell = cell.strip()
    if name in ("announced", "effective_from", "effective_to"):
        return _date(cell)
    if name in ("persons", "revision"):
        if isinstance(cell, float) and cell.is_integer():
            return int(cell)
        if isinstance(cell, str) and re.fullmatch(r"\d{1,9}", cell.replace(" ", "")):
            return int(cell.replace(" ", ""))
        return cell
    if name == "municipality":
        text = str(int(cell)) if isinstance(cell, int | float) else str(cell)
        return f"KU{int(text):03d}" if text.isdigit() else text.upper()
    if name == "kind":
        return KINDS.get(str(cell).strip().lower(), str(cell))
    if name == "occupations":
        return [p.strip() for p in re.split(r"[;,\s]+", str(cell)) if p.strip()]
    if name == "sector" and isinstance(cell, int | float):
        return f"{int(cell):02d}"
    return str(cell) if isinstance(cell, int | float) else cell


def _date(cell: Any) -> Any:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = str(cell)
    match = _FI_DATE.fullmatch(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return text
    return text[:10] if re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T].*)?", text) else text


def _field_name(loc: Sequence[int | str]) -> tuple[str, str, str] | None:
    if not loc:
        return None
    return _FIELD_NAMES.get(str(loc[0]), (str(loc[0]),) * 3)


_TEMPLATES: Final[dict[str, tuple[str, str, str]]] = {
    "missing": ("puuttuu", "saknas", "is missing"),
    "int_parsing": ("ei ole kokonaisluku", "är inte ett heltal", "is not a whole number"),
    "int_type": ("ei ole kokonaisluku", "är inte ett heltal", "is not a whole number"),
    "int_from_float": ("ei ole kokonaisluku", "är inte ett heltal", "is not a whole number"),
    "greater_than_equal": ("on liian pieni (vähintään {ge})", "är för litet (minst {ge})",
                           "is too small (at least {ge})"),
    "less_than_equal": ("on liian suuri (enintään {le})", "är för stort (högst {le})",
                        "is too large (at most {le})"),
    "date_parsing": ("ei ole päivämäärä (esim. 1.3.2024 tai 2024-03-01)",
                     "är inte ett datum (t.ex. 1.3.2024 eller 2024-03-01)",
                     "is not a date (e.g. 1.3.2024 or 2024-03-01)"),
    "date_from_datetime_parsing": ("ei ole päivämäärä (esim. 1.3.2024 tai 2024-03-01)",
                                   "är inte ett datum (t.ex. 1.3.2024 eller 2024-03-01)",
                                   "is not a date (e.g. 1.3.2024 or 2024-03-01)"),
    "date_type": ("ei ole päivämäärä", "är inte ett datum", "is not a date"),
    "enum": ("on tuntematon; sallitut: irtisanominen, lomautus, osa-aikainen lomautus, "
             "toiminnan lopettaminen",
             "är okänd; tillåtna: uppsägning, permittering, deltidspermittering, nedläggning",
             "is unknown; allowed: dismissal, temporary layoff, part-time layoff, closure"),
    "string_pattern_mismatch": ("on väärää muotoa", "har fel format", "has the wrong format"),
    "string_too_long": ("on liian pitkä", "är för lång", "is too long"),
    "string_type": ("ei ole tekstiä", "är inte text", "is not text"),
    "too_long": ("sisältää liian monta arvoa", "har för många värden", "has too many values"),
    "personal_data": ("sisältää henkilötunnuksen: ilmoituksissa ei saa olla henkilötietoja",
                      "innehåller en personbeteckning: anmälningar får inte ha personuppgifter",
                      "contains a personal identity code: notices must not carry personal "
                      "data"),
}  # fmt: skip

_VALUE_ERRORS: Final[dict[str, tuple[str, str, str]]] = {
    "business_id": ("ei ole kelvollinen Y-tunnus (muoto 1234567-8, tarkistusnumero)",
                    "är inte ett giltigt FO-nummer (1234567-8, kontrollsiffra)",
                    "is not a valid business id (1234567-8 with its check digit)"),
    "municipality": ("ei ole kuntakoodi (esim. 240 tai KU240)",
                     "är inte en kommunkod (t.ex. 240 eller KU240)",
                     "is not a municipality code (e.g. 240 or KU240)"),
    "sector": ("ei ole TOL 2008 -toimialakoodi", "är inte en TOL 2008-kod",
               "is not a TOL 2008 industry code"),
    "occupations": ("ei ole ISCO-08-ammattikoodi", "är inte en ISCO-08-kod",
                    "is not an ISCO-08 occupation code"),
    "announced": ("ei ole uskottava päivämäärä", "är inte ett rimligt datum",
                  "is not a plausible date"),
    "effective_from": ("ei ole uskottava päivämäärä", "är inte ett rimligt datum",
                       "is not a plausible date"),
    "effective_to": ("ei ole uskottava päivämäärä", "är inte ett rimligt datum",
                     "is not a plausible date"),
}  # fmt: skip


def _reason(error: Mapping[str, Any]) -> Localized:
    """One validation error in the three languages, naming the column as staff know it."""
    kind = str(error.get("type", ""))
    loc = tuple(error.get("loc", ()))
    names = _field_name(loc)
    ctx = error.get("ctx") or {}
    if kind == "personal_data":
        names = None
    if kind in ("value_error", "assertion_error") and not loc:
        if "before effective_from" in str(error.get("msg", "")):
            texts = ("päättymispäivä on ennen alkamispäivää", "slutdatum är före startdatum",
                     "effective to is before effective from")  # fmt: skip
        else:
            texts = ("virheellinen rivi", "ogiltig rad", "invalid row")
    elif kind == "value_error" and loc and str(loc[0]) in _VALUE_ERRORS:
        texts = _VALUE_ERRORS[str(loc[0])]
    elif kind in _TEMPLATES:
        bounds = {k: ctx.get(k, "") for k in ("ge", "le")}
        fi, sv, en = (t.format(**bounds) for t in _TEMPLATES[kind])
        texts = (fi, sv, en)
    elif kind == "extra_forbidden":
        texts = ("tuntematon kenttä", "okänt fält", "unknown field")
    else:
        texts = ("virheellinen arvo", "ogiltigt värde", "invalid value")
    if names is None:
        return Localized(fi=_first_upper(texts[0]), sv=_first_upper(texts[1]),
                         en=_first_upper(texts[2]))  # fmt: skip
    return Localized(
        fi=f"{names[0]}: {texts[0]}", sv=f"{names[1]}: {texts[1]}", en=f"{names[2]}: {texts[2]}"
    )


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _duplicate(notice_id: str, line: int) -> Localized:
    return Localized(
        fi=f"ilmoitusnumero {notice_id} on jo rivillä {line}",
        sv=f"anmälningsnummer {notice_id} finns redan på rad {line}",
        en=f"notice id {notice_id} is already on line {line}",
    )


def _unknown_municipality(code: str) -> Localized:
    return Localized(
        fi=f"kunta: {code} ei ole aluejaossa",
        sv=f"kommun: {code} finns inte i områdesindelningen",
        en=f"municipality: {code} is not in the area classification",
    )


def restrict(
    result: SheetResult,
    allowed: Callable[[LayoffNoticeFiled], bool],
    reason: Callable[[LayoffNoticeFiled], Localized],
) -> SheetResult:
    """``result`` with the notices ``allowed`` refuses moved to the rejected rows (with
    ``reason``), in line order: a row outside what its sender may file is reported, not
    dropped, and the counts still reconcile."""
    kept: list[tuple[int, LayoffNoticeFiled]] = []
    moved: list[RejectedRow] = []
    for line, notice in result.notices:
        if allowed(notice):
            kept.append((line, notice))
        else:
            moved.append(RejectedRow(line, (reason(notice),), notice.notice_id))
    rejected = sorted([*result.rejected, *moved], key=lambda r: r.line)
    return replace(result, notices=kept, rejected=rejected)


def outside_scope(municipality: str, scope: str) -> Localized:
    """The reason for a notice of a municipality outside the sender's ELY area."""
    return Localized(
        fi=f"kunta: {municipality} ei kuulu alueeseesi ({scope})",
        sv=f"kommun: {municipality} hör inte till ditt område ({scope})",
        en=f"municipality: {municipality} is outside your area ({scope})",
    )


REJECTED_COLUMNS: Final = ("line", "notice_id", "reason_fi", "reason_sv", "reason_en")


def rejected_csv(rejected: Sequence[RejectedRow]) -> str:
    """The rejected rows as CSV text (line, notice id, the reasons in each language), for
    staff to fix in the spreadsheet and send again."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REJECTED_COLUMNS)
    for row in rejected:
        writer.writerow([
            row.line, _safe_cell(row.notice_id or ""),
            *("; ".join(getattr(r, code) for r in row.reasons) for code in ("fi", "sv", "en")),
        ])  # fmt: skip
    return out.getvalue()


def _safe_cell(text: str) -> str:
    # A cell a spreadsheet would run as a formula (=, +, -, @) is kept as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
