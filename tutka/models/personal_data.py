"""Detect Finnish personal identity codes (henkilötunnus) so that no event or alert carries one.

A personal identity code is ``DDMMYYCZZZQ``: birth date, a century sign, an individual number and
a check character (``DDMMYYZZZ`` modulo 31). We flag a match only when the date exists and the
check character is right, so ordinary numbers and notice ids are not mistaken for persons.

>>> find_personal_codes("contact 131052-308T about it")
['131052-308T']
>>> find_personal_codes("notice 131052-308A")  # wrong check character
[]
>>> redact_personal_codes("id 131052-308T.")
'id [REDACTED-HETU].'

Look-alike spellings are codes too: the text is checked as a reader would see it, in Unicode
normal form NFKC, with invisible characters removed, every dash a hyphen and every decimal digit
an ASCII one (:func:`reading_form`); with ``json_escapes``, ``\\u`` escapes are read as well.

>>> contains_personal_code("131052\u2013308T")  # an en dash
True
>>> contains_personal_code("１３１０５２-308T")  # full-width digits
True
>>> redact_personal_codes("id 131052\\u002d308T", json_escapes=True)
'id [REDACTED-HETU]'
"""

from __future__ import annotations

import re
import sys
import unicodedata
from datetime import date
from functools import cache
from typing import Final

# Letters around a code do not make it less personal ("hetu131052-308T"), and a lower-case check
# character is still the same person: only digits on either side rule a match out.
_CANDIDATE: Final = re.compile(
    r"(?<![0-9])([0-9]{2})([0-9]{2})([0-9]{2})([-+A-FU-Y])([0-9]{3})([0-9A-Y])(?![0-9])",
    re.IGNORECASE,
)
_CHECK_CHARS: Final = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_CENTURY: Final = {"+": 1800, "-": 1900, "U": 1900, "V": 1900, "W": 1900, "X": 1900, "Y": 1900}
_CENTURY.update({c: 2000 for c in "ABCDEF"})
REDACTION: Final = "[REDACTED-HETU]"


def _is_personal_code(match: re.Match[str]) -> bool:
    day, month, year2, sign, individual, check = match.groups()
    sign, check = sign.upper(), check.upper()
    try:
        date(_CENTURY[sign] + int(year2), int(month), int(day))
    except ValueError:
        return False
    return _CHECK_CHARS[int(day + month + year2 + individual) % 31] == check


def _plain_codes(text: str) -> list[str]:
    return [m.group(0) for m in _CANDIDATE.finditer(text) if _is_personal_code(m)]


#: ASCII characters a reader does not see (controls but whitespace): removed before the check.
_ASCII_INVISIBLE: Final = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")
#: ASCII whitespace controls: each a space in the reading form (it separates, as a space does).
_ASCII_SPACES: Final = re.compile(r"[\t\n\x0b\x0c\r\x1c-\x1f]")
_JSON_ESCAPE: Final = re.compile(r"\\u([0-9a-fA-F]{4})|\\([\\/\"bfnrt])")
_SHORT_ESCAPES: Final = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
#: Rounds of unescaping and redaction before a text is given up as uncheckable.
_MAX_ROUNDS: Final = 4
#: What is kept of a text that still reads as a code after every round.
UNCHECKABLE: Final = "[REDACTED-UNCHECKABLE]"


@cache
def _reading_table() -> dict[int, str | None]:
    """Invisible characters removed, dashes made hyphens, decimal digits made ASCII.

    Built on first use (a scan of the planes where such characters live, ~50 ms), so that
    importing this module stays instant and ASCII text never needs it.
    """
    table: dict[int, str | None] = {}
    planes = (range(0x20000), range(0xE0000, min(0xE1000, sys.maxunicode + 1)))
    for points in planes:
        for point in points:
            char = chr(point)
            category = unicodedata.category(char)
            if char.isspace():
                table[point] = " "  # a separator stays one: it must not join two numbers
            elif category in ("Cc", "Cf", "Mn", "Me"):
                table[point] = None
            elif category == "Pd":
                table[point] = "-"
            elif category == "Nd":
                table[point] = str(unicodedata.digit(char))
    table[0x2212] = "-"  # MINUS SIGN (a math symbol, not a dash)
    table[ord("-")] = "-"
    return table


def _unescape_json(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return chr(int(match.group(1), 16))
        short = match.group(2)
        return _SHORT_ESCAPES.get(short, short)

    return _JSON_ESCAPE.sub(replace, text)


def reading_form(text: str, json_escapes: bool = False) -> str:
    """``text`` as a reader sees it: a form in which personal codes are looked for.

    NFKC (full-width digits and signs become ASCII), invisible characters (format, control and
    combining characters: zero-width space, soft hyphen …) removed, every dash a hyphen, every
    decimal digit ASCII. With ``json_escapes``, JSON escapes are read first (``\\u002d`` is a
    hyphen): for raw payloads that may not parse. (The checks also look at the text without
    NFKC and without the escapes read: see :func:`_reading_forms`.)

    >>> reading_form("13\u200b1052\u00ad-308T")
    '131052-308T'
    """
    return _reading_forms(text, json_escapes)[-1]


def _reading_forms(text: str, json_escapes: bool) -> list[str]:
    """Every form a reader may see, each checked for codes.

    The escapes read or not (a reader may take ``\\u1310`` for text), compatibility characters
    expanded (NFKC) or not (NFKC makes ``¼`` ``1⁄4``: a digit that would hide a code after it).
    """
    bases = [text]
    if json_escapes and "\\" in text:
        bases.append(_unescape_json(text))
    forms: list[str] = []
    for base in bases:
        if base.isascii():
            forms.append(_ASCII_SPACES.sub(" ", _ASCII_INVISIBLE.sub("", base)))
            continue
        # Lone surrogates (text read with ``surrogateescape``) are invisible to a reader too.
        base = base.encode("utf-8", errors="ignore").decode("utf-8")
        forms.append(base.translate(_reading_table()))
        forms.append(unicodedata.normalize("NFKC", base).translate(_reading_table()))
    return forms


def _needs_reading(text: str, json_escapes: bool) -> bool:
    return (
        not text.isascii()
        or _ASCII_INVISIBLE.search(text) is not None  # (whitespace changes no match)
        or (json_escapes and "\\" in text)
    )


def find_personal_codes(text: str, json_escapes: bool = False) -> list[str]:
    """Every valid personal identity code in ``text`` (look-alike spellings as read)."""
    found = _plain_codes(text)
    if found or not _needs_reading(text, json_escapes):
        return found
    for form in _reading_forms(text, json_escapes):
        found = _plain_codes(form)
        if found:
            return found
    return []


def contains_personal_code(text: str, json_escapes: bool = False) -> bool:
    """Whether ``text`` holds a valid Finnish personal identity code (henkilötunnus) anywhere.

    Any spelling a reader would take for one counts (see :func:`reading_form`).
    """
    if any(_is_personal_code(m) for m in _CANDIDATE.finditer(text)):
        return True
    if not _needs_reading(text, json_escapes):
        return False
    return any(
        _is_personal_code(m)
        for form in _reading_forms(text, json_escapes)
        for m in _CANDIDATE.finditer(form)
    )


def _form_with_code(text: str, json_escapes: bool) -> str:
    """The first reading form of ``text`` that shows a code (the last one if none does)."""
    forms = _reading_forms(text, json_escapes)
    return next((f for f in forms if _plain_codes(f)), forms[-1])


_CANDIDATE_BYTES: Final = re.compile(_CANDIDATE.pattern.encode("ascii"), re.IGNORECASE)


def redact_personal_codes_in_bytes(data: bytes) -> bytes:
    """The same for bytes that are not valid UTF-8: the codes themselves are always ASCII."""

    def replace(match: re.Match[bytes]) -> bytes:
        text = _CANDIDATE.fullmatch(match.group(0).decode("ascii"))
        return REDACTION.encode("ascii") if text and _is_personal_code(text) else match.group(0)

    return _CANDIDATE_BYTES.sub(replace, data)


def _redact_plain(text: str) -> str:
    return _CANDIDATE.sub(lambda m: REDACTION if _is_personal_code(m) else m.group(0), text)


def redact_personal_codes(text: str, json_escapes: bool = False) -> str:
    """Replace each valid personal identity code with a fixed marker; keep everything else.

    A code only a reader would see (a look-alike spelling, see :func:`reading_form`) is redacted
    in the reading form, which then replaces the text. Text that still reads as a code after a
    few rounds (escapes of escapes) is not kept at all: :data:`UNCHECKABLE` stands for it.
    """
    redacted = _redact_plain(text)
    for _ in range(_MAX_ROUNDS):
        if not contains_personal_code(redacted, json_escapes):
            return redacted
        redacted = _redact_plain(_form_with_code(redacted, json_escapes))
    return redacted if not contains_personal_code(redacted, json_escapes) else UNCHECKABLE
