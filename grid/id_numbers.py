"""Resident ID numbers (居民身份证号, GB 11643): validated, encrypted at rest (AES-GCM), with a
keyed digest for exact lookups and uniqueness and a masked form for display."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rewards.periods import CHINA

_FORMAT = re.compile(r"[0-9]{17}[0-9X]")  # ASCII only: no fullwidth digits
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalize_id_number(raw: str) -> str | None:
    """The 18-character number in upper case, or None if its format, birth date or check
    character is wrong."""
    number = (raw or "").strip().upper()
    if not _FORMAT.fullmatch(number) or check_char(number[:17]) != number[17]:
        return None
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    if not dt.date(1900, 1, 1) <= born <= dt.datetime.now(CHINA).date():  # today where the residents are
        return None
    return number


def mask_id_number(number: str) -> str:
    return number[:3] + "*" * 11 + number[-4:]


@dataclass(frozen=True, slots=True)
class SealedIdNumber:
    cipher: bytes
    digest: bytes
    masked: str


class IdNumberVault:
    """Seals and opens ID numbers with keys derived from the service's data key."""

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(hmac.new(data_key, b"id-number-encryption", hashlib.sha256).digest())
        self._digest_key = hmac.new(data_key, b"id-number-digest", hashlib.sha256).digest()

    def digest(self, number: str) -> bytes:
        return hmac.new(self._digest_key, number.encode(), hashlib.sha256).digest()

    def seal(self, number: str) -> SealedIdNumber:
        nonce = os.urandom(12)
        cipher = nonce + self._aead.encrypt(nonce, number.encode(), b"id-number")
        return SealedIdNumber(cipher, self.digest(number), mask_id_number(number))

    def open(self, cipher: bytes) -> str:
        return self._aead.decrypt(cipher[:12], cipher[12:], b"id-number").decode()
