"""Name pools as numpy arrays with Zipf-like weights, built once per process."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from contactpoint.synth.names import (
    ARABIC_PREFIXED,
    FEMALE,
    MALE,
    MIXED_TRANSLITERATIONS,
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


_FOLD = str.maketrans("łŁøØđĐ", "lLoOdD")


def ascii_fold(name: str) -> str:
    """``Michał Wiśniewski`` -> ``Michal Wisniewski``: what a system without diacritics holds."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", name.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _faker_origin_names() -> dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    """(male, female, surnames) per origin from Faker's bundled locale lists (Latin script)."""
    from faker.providers.person import en_IN, ig_NG, pl_PL, yo_NG, zh_CN

    def latin(names: Iterable[str]) -> tuple[str, ...]:
        return tuple(n for n in names if n.replace("-", "").replace("'", "").isalpha()
                     and " " not in n)

    chinese = latin(zh_CN.Provider.first_romanized_names)
    return {
        "south_asian": (latin(en_IN.Provider.first_names_male),
                        latin(en_IN.Provider.first_names_female),
                        latin(en_IN.Provider.last_names)),
        "east_european": (latin(pl_PL.Provider.first_names_male),
                          latin(pl_PL.Provider.first_names_female),
                          latin(pl_PL.Provider.male_last_names)),
        "african": (latin(yo_NG.Provider.first_names_male) + latin(ig_NG.Provider.first_names_male),
                    latin(yo_NG.Provider.first_names_female)
                    + latin(ig_NG.Provider.first_names_female),
                    latin(yo_NG.Provider.last_names) + latin(ig_NG.Provider.last_names)),
        "chinese": (chinese, chinese, latin(zh_CN.Provider.last_romanized_names)),
        "arabic": ((), (), ARABIC_PREFIXED),
    }


@cache
def mixed_name_pools() -> NamePools:
    """The pools of the ``name_origins`` condition: each non-English origin widened with
    Faker's locale lists (Indian, Polish, Yoruba and Igbo, romanised Chinese) and Arabic
    surnames with their article, and more transliteration variants (diacritics folded)."""
    base = name_pools()
    extra = _faker_origin_names()
    groups: list[tuple[str, ...]] = [*TRANSLITERATIONS, *MIXED_TRANSLITERATIONS]
    for male, female, last in extra.values():
        for name in (*male, *female, *last):
            folded = ascii_fold(name)
            if folded != name:
                groups.append((name, folded))
    variants: dict[str, list[str]] = {}
    for group in groups:
        for name in group:
            variants.setdefault(name, [])
            variants[name].extend(v for v in group if v != name and v not in variants[name])

    def widen(kind: int, pools: tuple[Pool, ...]) -> tuple[Pool, ...]:
        out = []
        for o, pool in zip(ORIGINS, pools, strict=True):
            more = extra[o][kind] if o in extra else ()
            # the default pool first (its most common names stay common), the wider list after
            out.append(_pool((*pool.names.tolist(), *more), 0.9, 12.0) if more else pool)
        return tuple(out)

    return NamePools(
        male=widen(0, base.male), female=widen(1, base.female), surname=widen(2, base.surname),
        nicknames=base.nicknames, variants={k: tuple(v) for k, v in variants.items()},
        similar=base.similar,
    )
