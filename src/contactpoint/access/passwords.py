"""Password policy (NIST SP 800-63B rev 4) and argon2id hashing.

* at least 15 characters, at most 128, taken verbatim (no trimming, no normalisation beyond
  what the client sends; every character counts);
* refused when it is a common or breached password (shipped list), a common password with
  digits or symbols stuck on, one short unit repeated, a plain sequence, or when it contains a
  context word (the service name, the username); the reason is given;
* no composition rules.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from contactpoint.errors import ValidationFailed

MIN_LENGTH = 15
MAX_LENGTH = 128
SERVICE_WORDS = ("contactpoint", "contact point", "contact-point")
_STRIP = string.digits + string.punctuation + string.whitespace


@cache
def blocklist() -> frozenset[str]:
    text = (
        resources.files("contactpoint.access")
        .joinpath("data/common-passwords.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line for line in text.splitlines() if line and not line.startswith("# ")
    )


def _is_repetition(text: str) -> bool:
    n = len(text)
    return any(n % size == 0 and text[:size] * (n // size) == text for size in range(1, n // 2 + 1))


def _is_sequence(text: str) -> bool:
    if len(text) < 3:
        return False
    steps = {
        (ord(b) - ord(a)) % 10 if a.isdigit() and b.isdigit() else ord(b) - ord(a)
        for a, b in pairwise(text)
    }
    return len(steps) == 1 and steps.pop() in (1, -1, 9)


def problems(password: str, *, username: str = "") -> list[str]:
    """Why a password is refused; empty when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return [f"must be at least {MIN_LENGTH} characters long"]
    if len(password) > MAX_LENGTH:
        return [f"must be at most {MAX_LENGTH} characters long"]
    folded = password.casefold()
    reasons: list[str] = []
    words = blocklist()
    core = folded.strip(_STRIP)
    if folded in words:
        reasons.append("is a commonly used or breached password")
    elif core in words or core.replace(" ", "") in words:
        reasons.append("is a common password with digits or symbols added")
    if _is_repetition(folded):
        reasons.append("repeats the same characters")
    elif _is_sequence(folded):
        reasons.append("is a simple sequence of characters")
    if any(word in folded for word in SERVICE_WORDS):
        reasons.append("contains the name of the service")
    name = username.casefold()
    if len(name) >= 3 and name in folded:
        reasons.append("contains the username")
    return reasons


def check(password: str, *, username: str = "") -> None:
    """Raise :class:`ValidationFailed` with every reason when the policy refuses it."""
    found = problems(password, username=username)
    if found:
        raise ValidationFailed("password " + "; ".join(found))


@dataclass(frozen=True)
class HashParameters:
    time_cost: int
    memory_kib: int
    parallelism: int


class PasswordHashing:
    """argon2id with the configured cost, plus a dummy verify for unknown users."""

    def __init__(self, params: HashParameters) -> None:
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
        )
        self._dummy = self._hasher.hash("dummy password for timing only")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def dummy_verify(self, password: str) -> None:
        """Spend the same time as a real verify, so unknown users are not told apart."""
        self.verify(self._dummy, password)

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
