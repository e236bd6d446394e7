"""Vectorised identifiers: NHS numbers, UPNs, phone numbers and stable source keys."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from contactpoint.domain.identifiers import UPN_LETTERS

IntArray = npt.NDArray[Any]
StrArray = npt.NDArray[Any]

_NHS_WEIGHTS = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)
_NHS_BASE = 400_000_000  # England numbers start 4..9
_NHS_SPAN = 600_000_000
_NHS_MULT_OK = 282_475_249  # 7**10, coprime with 2, 3 and 5


def permute(values: IntArray, modulus: int, multiplier: int, offset: int) -> IntArray:
    """An affine bijection of ``[0, modulus)`` (``multiplier`` coprime with ``modulus``)."""
    return (values.astype(np.int64) * multiplier + offset) % modulus


def zfill(numbers: IntArray, width: int) -> StrArray:
    """Zero-padded decimal strings (``np.char.zfill`` fails on an empty array)."""
    if numbers.size == 0:
        return np.empty(0, dtype=f"<U{width}")
    return np.char.zfill(numbers.astype(str), width)


def _digits(numbers: IntArray, width: int) -> npt.NDArray[Any]:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (numbers[:, None] // powers[None, :]) % 10


def nhs_numbers(person_index: IntArray, seed: int) -> StrArray:
    """A distinct valid NHS number for each distinct person index (mod-11 checked)."""
    n = person_index.shape[0]
    chosen = np.full(n, -1, dtype=np.int64)
    check = np.zeros(n, dtype=np.int64)
    offset = (seed * 7919 + 12345) % _NHS_SPAN
    for attempt in range(12):
        todo = chosen < 0
        if not todo.any():
            break
        key = person_index[todo].astype(np.int64) * 12 + attempt
        body = _NHS_BASE + permute(key, _NHS_SPAN, _NHS_MULT_OK, offset)
        total = (_digits(body, 9) * _NHS_WEIGHTS).sum(axis=1)
        digit = 11 - total % 11
        digit[digit == 11] = 0
        ok = digit != 10
        idx = np.flatnonzero(todo)[ok]
        chosen[idx] = body[ok]
        check[idx] = digit[ok]
    if (chosen < 0).any():  # pragma: no cover - probability 11**-12 per person
        raise RuntimeError("could not allocate an NHS number")
    return np.char.add(chosen.astype(str), check.astype(str))


_UPN_LETTER_ARRAY = np.array(list(UPN_LETTERS))
_UPN_WEIGHTS = np.arange(2, 14, dtype=np.int64)


def upns(la_code: IntArray, estab: IntArray, year2: IntArray, serial: IntArray) -> StrArray:
    """UPNs: check letter + LA (3) + establishment (4) + year of allocation (2) + serial (3)."""
    body = (
        la_code.astype(np.int64) * 10**9
        + estab.astype(np.int64) * 10**5
        + year2.astype(np.int64) * 10**3
        + serial.astype(np.int64)
    )
    total = (_digits(body, 12) * _UPN_WEIGHTS).sum(axis=1)
    letters = _UPN_LETTER_ARRAY[total % 23]
    return np.char.add(letters, zfill(body, 12))


def mobile_numbers(rng: np.random.Generator, n: int) -> StrArray:
    """UK mobile numbers in the Ofcom drama range shape ``07700 9xxxxx``-like, but varied."""
    body = rng.integers(100_000_000, 999_999_999, size=n, dtype=np.int64)
    return np.char.add("07", body.astype(str))


def source_keys(prefix: str, person_index: IntArray, salt: int, width: int = 9) -> StrArray:
    """A source's own stable key for a person: ``PREFIX`` + a permuted, zero-padded number."""
    modulus = 10**width
    mult = 1_000_003 + 2 * (salt % 1000) * 10  # odd, ends in 3: coprime with 10**width
    keys = permute(person_index, modulus, mult, (salt * 104_729) % modulus)
    return np.char.add(prefix, zfill(keys, width))


SECOND_NHS_OFFSET = 25_000_000  # person indices below this get second numbers unlike any first


def second_nhs_numbers(person_index: IntArray, seed: int) -> StrArray:
    """A second valid NHS number per person, distinct from every person's first number (and
    from the other second numbers) while the population has fewer than 25 M children."""
    return nhs_numbers(person_index.astype(np.int64) + SECOND_NHS_OFFSET, seed)


def second_upns(upn: StrArray, person_index: IntArray) -> StrArray:
    """A second valid UPN per pupil (allocated by a school they left): the same LA and year
    of allocation, an establishment number no school in the synthetic world uses (6000-9999);
    distinct from every other UPN while person indices stay below 4 M."""
    if upn.size == 0:
        return upn
    la = np.array([int(u[1:4]) for u in upn], dtype=np.int64)
    year2 = np.array([int(u[8:10]) for u in upn], dtype=np.int64)
    pid = person_index.astype(np.int64)
    return upns(la, 6000 + (pid // 1000) % 4000, year2, pid % 1000)


def chosen_people(person_index: IntArray, rate: float, salt: int) -> npt.NDArray[Any]:
    """A fixed share ``rate`` of the people, the same in every source and every run (a hash of
    the person index, no draw from any random generator)."""
    if rate <= 0:
        return np.zeros(person_index.shape[0], dtype=bool)
    h = permute(person_index, 1_000_003, 7919 + 2 * salt, 104_729 * salt)
    return np.asarray(h < rate * 1_000_003)
