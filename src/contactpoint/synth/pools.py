"""Name pools as numpy arrays with Zipf-like weights, built once per process."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from contactpoint.synth.names import (
    FEMALE,
    MALE,
    NICKNAMES,
    ORIGINS,
    SIMILAR_FORENAMES,
    SURNAMES,
    TRANSLITERATIONS,
)

StrArray = npt.NDArray[Any]
FloatArray = npt.NDArray[Any]


def zipf_weights(n: int, exponent: float = 1.0, shift: float = 2.0) -> FloatArray:
    ranks = np.arange(n, dtype=np.float64)
    w = 1.0 / (ranks + shift) ** exponent
    result: FloatArray = w / w.sum()
    return result


def _dedupe(names: tuple[str, ...]) -> StrArray:
    seen: dict[str, None] = {}
    for n in names:
        seen.setdefault(n, None)
    return np.array(list(seen))


@dataclass(frozen=True, slots=True)
class Pool:
    names: StrArray
    cdf: FloatArray

    def sample(self, rng: np.random.Generator, n: int) -> StrArray:
        idx = np.searchsorted(self.cdf, rng.random(n), side="right")
        return self.names[np.minimum(idx, self.names.size - 1)]


def _pool(names: tuple[str, ...], exponent: float, shift: float) -> Pool:
    arr = _dedupe(names)
    return Pool(arr, np.cumsum(zipf_weights(arr.size, exponent, shift)))


def _faker_names() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Long tails for the English pools from Faker's bundled name lists (no random calls)."""
    from faker.providers.person import en, en_GB, en_US

    def clean(names: Iterable[str]) -> tuple[str, ...]:
        return tuple(n for n in names if n.isalpha() or "'" in n)

    male = clean(en_GB.Provider.first_names_male) + clean(en_US.Provider.first_names_male) \
        + clean(en.Provider.first_names_male)
    female = clean(en_GB.Provider.first_names_female) + clean(
        en_US.Provider.first_names_female) + clean(en.Provider.first_names_female)
    last = clean(en_GB.Provider.last_names) + clean(en_US.Provider.last_names)
    return male, female, last


@dataclass(frozen=True, slots=True)
class NamePools:
    male: tuple[Pool, ...]  # per origin
    female: tuple[Pool, ...]
    surname: tuple[Pool, ...]
    nicknames: dict[str, tuple[str, ...]]
    variants: dict[str, tuple[str, ...]]
    similar: dict[str, tuple[tuple[str, str], ...]]  # "M"/"F" -> pairs


@cache
def name_pools() -> NamePools:
    variants: dict[str, list[str]] = {}
    for group in TRANSLITERATIONS:
        for name in group:
            variants.setdefault(name, [])
            variants[name].extend(v for v in group if v != name and v not in variants[name])
    female_names = {n for names in FEMALE.values() for n in names}
    male_pairs = tuple(p for p in SIMILAR_FORENAMES if p[0] not in female_names)
    female_pairs = tuple(p for p in SIMILAR_FORENAMES if p[0] in female_names)
    tail_male, tail_female, tail_last = _faker_names()

    def tail(o: str, names: tuple[str, ...]) -> tuple[str, ...]:
        return names if o == "english" else ()

    return NamePools(
        male=tuple(_pool(MALE[o] + tail(o, tail_male), 1.05, 12.0) for o in ORIGINS),
        female=tuple(_pool(FEMALE[o] + tail(o, tail_female), 1.05, 12.0) for o in ORIGINS),
        surname=tuple(_pool(SURNAMES[o] + tail(o, tail_last), 1.0, 25.0) for o in ORIGINS),
        nicknames=dict(NICKNAMES),
        variants={k: tuple(v) for k, v in variants.items()},
        similar={"M": male_pairs, "F": female_pairs},
    )
