"""A scanner that finds personal data left unmasked in outgoing messages.

The masks themselves are the one rule of :mod:`profiles.masking`, re-exported here for the
notifier.

The scanner runs on every rendered message before it is handed to a channel; a message that
still shows a full ID number or mobile number is refused (never sent).

>>> mask_id("310101195001011234")
'3101**********1234'
>>> mask_phone("13800000000")
'138****0000'
>>> mask_name("张三丰")
'张**'
>>> find_unmasked("身份证 310101195001011234，电话 13800000000")
('id_number', 'phone')
>>> find_unmasked("身份证 3101**********1234，电话 138****0000")
()
"""

from __future__ import annotations

import datetime as dt
import re

from profiles.masking import mask_email, mask_id, mask_name, mask_phone

__all__ = ["find_unmasked", "mask_email", "mask_id", "mask_name", "mask_phone"]

# 18-character resident ID (GB 11643-1999): 6-digit region, 8-digit birth date, 3-digit
# sequence, check character. Not preceded or followed by another alphanumeric character,
# so an 18-character code inside a longer token is not taken for one.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
# Mainland mobile numbers, optionally written with +86 / 86.
_PHONE_RE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")


def _plausible_birth_date(digits: str) -> bool:
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return 1850 <= born.year <= 2100


def find_unmasked(text: str) -> tuple[str, ...]:
    """The kinds of unmasked personal data in ``text`` (``id_number``, ``phone``), in order.

    Only kinds are returned, never the values, so the result can be logged.
    """
    found: list[str] = []
    if any(_plausible_birth_date(m.group(2)) for m in _ID_RE.finditer(text)):
        found.append("id_number")
    if _PHONE_RE.search(text):
        found.append("phone")
    return tuple(found)
