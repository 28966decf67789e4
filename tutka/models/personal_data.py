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
"""

from __future__ import annotations

import re
from datetime import date
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


def find_personal_codes(text: str) -> list[str]:
    """Every valid personal identity code in ``text``."""
    return [m.group(0) for m in _CANDIDATE.finditer(text) if _is_personal_code(m)]


def contains_personal_code(text: str) -> bool:
    """Whether ``text`` holds a valid Finnish personal identity code (henkilötunnus) anywhere."""
    return any(_is_personal_code(m) for m in _CANDIDATE.finditer(text))


_CANDIDATE_BYTES: Final = re.compile(_CANDIDATE.pattern.encode("ascii"), re.IGNORECASE)


def redact_personal_codes_in_bytes(data: bytes) -> bytes:
    """The same for bytes that are not valid UTF-8: the codes themselves are always ASCII."""

    def replace(match: re.Match[bytes]) -> bytes:
        text = _CANDIDATE.fullmatch(match.group(0).decode("ascii"))
        return REDACTION.encode("ascii") if text and _is_personal_code(text) else match.group(0)

    return _CANDIDATE_BYTES.sub(replace, data)


def redact_personal_codes(text: str) -> str:
    """Replace each valid personal identity code with a fixed marker; keep everything else."""
    return _CANDIDATE.sub(lambda m: REDACTION if _is_personal_code(m) else m.group(0), text)
