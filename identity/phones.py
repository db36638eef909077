"""Mainland mobile numbers: normalise what people type, refuse what is not a number, mask."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = re.compile(r"[\s\-()]")


def normalize_phone(raw: str) -> str | None:
    """'+86 138-0013-8000' → '13800138000'; None when it is not a mainland mobile number."""
    digits = _SEPARATORS.sub("", raw or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    return digits if _MOBILE.fullmatch(digits) else None


def mask_phone(phone: str | None) -> str | None:
    return None if phone is None else f"{phone[:3]}****{phone[-4:]}"
