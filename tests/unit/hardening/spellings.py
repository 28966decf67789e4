"""Spellings of one personal identity code that a reader takes for it (issue #14, item 1)."""

from __future__ import annotations

import re
from typing import Final

from tutka.models.personal_data import contains_personal_code

#: DVV's example code, and how it can be written so that a plain text search misses it.
CODE: Final = "131052-308T"
LOOK_ALIKES: Final = {
    "zero_width_space": "1310\u200b52-308T",
    "soft_hyphen": "131052\u00ad-308T",
    "full_width_digits": "\uff11\uff13\uff11\uff10\uff15\uff12-\uff13\uff10\uff18T",
    "en_dash": "131052\u2013308T",
    "minus_sign": "131052\u2212308T",
    "nul_between_digits": "131\x00052-308T",
    "lower_case_check": "131052-308t",
}
#: As they appear inside raw JSON text (escapes a parser resolves).
JSON_ESCAPED: Final = {
    "escaped_hyphen": "131052\\u002d308T",
    "escaped_digits": "\\u0031\\u0033\\u0031052-308T",
    "escaped_zero_width_space": "1310\\u200b52-308T",
}
ALL_SPELLINGS: Final = {**LOOK_ALIKES, **JSON_ESCAPED, "plain": CODE}


#: Each spelling as it counts as a code: not part of a longer run of digits (the definition
#: :mod:`tutka.models.personal_data` documents: digits on either side rule a match out).
_BOUNDED: Final = [
    re.compile(r"(?<![0-9\uff10-\uff19])" + re.escape(s) + r"(?![0-9\uff10-\uff19])")
    for s in ALL_SPELLINGS.values()
]


def leaks(text: str) -> bool:
    """Whether ``text`` holds the code in any spelling above, or any code a reader would see."""
    return any(p.search(text) for p in _BOUNDED) or contains_personal_code(text, json_escapes=True)
