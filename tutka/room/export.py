"""The filtered view as a file for briefings: CSV (UTF-8 with BOM, for Excel) and XLSX.

The rows are exactly the alerts the picture lists for the same filters, in the same order; the
explanation is in the language asked. The XLSX is written by hand (one sheet, inline strings,
numbers as numbers): a dependency for one table would not earn its place.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from typing import Final
from xml.sax.saxutils import escape

from tutka.models.alerts import Alert

_OOXML = "http://schemas.openxmlformats.org"
_PKG = f"{_OOXML}/package/2006"
_DOC = f"{_OOXML}/officeDocument/2006/relationships"
_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml"


COLUMNS: Final = (
    "id", "severity", "polarity", "kind", "status", "area", "area_name", "ely", "sector",
    "occupation", "opened_period", "period", "available_on", "resolved_period", "resolution",
    "impact", "labour_share", "confidence", "explanation",
)  # fmt: skip


def rows(alerts: Sequence[Alert], lang: str) -> list[list[object]]:
    """One row per alert, in :data:`COLUMNS` order."""
    out: list[list[object]] = []
    for a in alerts:
        out.append([
            a.id, a.severity.value, a.polarity.value, a.kind.value, a.status.value, a.area,
            getattr(a.area_name, lang), a.ely or "", a.sector or "", a.occupation or "",
            a.opened_period, a.period, a.available_on.isoformat(), a.resolved_period or "",
            a.resolution or "", a.impact, "" if a.labour_share is None else a.labour_share,
            a.confidence or "", getattr(a.explanation, lang),
        ])  # fmt: skip
    return out


def to_csv(alerts: Sequence[Alert], lang: str) -> str:
    """The alerts as CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(alerts, lang))
    return buffer.getvalue()


def _cell(ref: str, value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<c r="{ref}"><v>{value}</v></c>'
    text = escape(str(value))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


_CONTENT_TYPES: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<Types xmlns="{_PKG}/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_MIME}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_MIME}.worksheet+xml"/>'
    "</Types>"
)
_RELS: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Muutostutka" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def to_xlsx(alerts: Sequence[Alert], lang: str) -> bytes:
    """The alerts as a one-sheet Excel workbook (header row, then one row per alert)."""
    table: list[list[object]] = [list(COLUMNS), *rows(alerts, lang)]
    sheet_rows = "".join(
        f'<row r="{r + 1}">'
        + "".join(_cell(f"{_column(c)}{r + 1}", v) for c, v in enumerate(row))
        + "</row>"
        for r, row in enumerate(table)
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{sheet_rows}</sheetData></worksheet>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()
