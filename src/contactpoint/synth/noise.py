"""The ways a source garbles what it holds: typos, nicknames, variant spellings, date slips.

Each function takes an array and a random generator, changes a random fraction of the entries
and returns a new array; only the chosen entries go through Python, so the cost scales with the
noise rate, not the population.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from contactpoint.synth.pools import name_pools

StrArray = npt.NDArray[Any]
DateArray = npt.NDArray[Any]
BoolArray = npt.NDArray[Any]

_KEYBOARD = {
    "a": "sqz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}
_OCR = {"rn": "m", "m": "rn", "cl": "d", "l": "I", "O": "0", "I": "l", "e": "c", "h": "b",
        "u": "v", "a": "o", "n": "h"}


class _Edits:
    """A few changed entries of a string array, applied at once without a round trip through
    Python objects for the untouched entries (and widened when a new value is longer)."""

    def __init__(self, values: StrArray) -> None:
        self.values = values
        self.changes: dict[int, str] = {}

    def __getitem__(self, i: int | np.integer[Any]) -> str:
        key = int(i)
        return self.changes.get(key, str(self.values[key]))

    def __setitem__(self, i: int | np.integer[Any], value: str) -> None:
        self.changes[int(i)] = value

    def result(self) -> StrArray:
        if not self.changes:
            return self.values
        width = max(len(v) for v in self.changes.values())
        current = self.values.dtype.itemsize // 4
        out = self.values.astype(f"<U{max(width, current, 1)}")
        out[np.fromiter(self.changes.keys(), dtype=np.int64)] = list(self.changes.values())
        return out


def _choose(rng: np.random.Generator, n: int, rate: float, eligible: BoolArray | None = None,
            ) -> npt.NDArray[Any]:
    if rate <= 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    hit = rng.random(n) < rate
    if eligible is not None:
        hit &= eligible
    return np.flatnonzero(hit)


def typo(word: str, rng: np.random.Generator) -> str:
    """One edit: substitution by a keyboard neighbour, deletion, insertion, transposition, OCR."""
    if len(word) < 3:
        return word
    pos = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(0, 5))
    ch = word[pos]
    if kind == 0:
        near = _KEYBOARD.get(ch.lower(), "e")
        return word[:pos] + near[int(rng.integers(0, len(near)))] + word[pos + 1:]
    if kind == 1:
        return word[:pos] + word[pos + 1:]
    if kind == 2:
        return word[:pos] + ch + word[pos:]
    if kind == 3 and pos + 1 < len(word):
        return word[:pos] + word[pos + 1] + ch + word[pos + 2:]
    for src, dst in _OCR.items():
        at = word.find(src, 1)
        if at > 0:
            return word[:at] + dst + word[at + len(src):]
    return word[:pos] + word[pos + 1:]


def apply_typos(values: StrArray, rate: float, rng: np.random.Generator) -> StrArray:
    idx = _choose(rng, values.shape[0], rate, values != "")
    if idx.size == 0:
        return values
    out = _Edits(values)
    for i in idx:
        out[i] = typo(str(out[i]), rng)
    return out.result()


def apply_nicknames(given: StrArray, preferred: StrArray, rate: float,
                    rng: np.random.Generator) -> StrArray:
    """Use the known-as form (or a nickname of the name) as the given name."""
    idx = _choose(rng, given.shape[0], rate)
    if idx.size == 0:
        return given
    nick = name_pools().nicknames
    out = _Edits(given)
    for i in idx:
        if preferred[i]:
            out[i] = str(preferred[i])
        else:
            forms = nick.get(str(out[i]))
            if forms:
                out[i] = forms[int(rng.integers(0, len(forms)))]
    return out.result()


def apply_variants(values: StrArray, rate: float, rng: np.random.Generator) -> StrArray:
    """Transliteration or alternative spellings (Mohammed/Muhammad, Aleksandr/Alexander)."""
    variants = name_pools().variants
    idx = _choose(rng, values.shape[0], rate)
    if idx.size == 0:
        return values
    out = _Edits(values)
    for i in idx:
        forms = variants.get(str(out[i]))
        if forms:
            out[i] = forms[int(rng.integers(0, len(forms)))]
    return out.result()


def apply_case_space(values: StrArray, rate: float, rng: np.random.Generator) -> StrArray:
    idx = _choose(rng, values.shape[0], rate, values != "")
    if idx.size == 0:
        return values
    out = _Edits(values)
    for i in idx:
        v = str(out[i])
        k = int(rng.integers(0, 4))
        out[i] = v.upper() if k == 0 else v.lower() if k == 1 else (
            f" {v}  " if k == 2 else v.replace("-", " - ") if "-" in v else v + " ")
    return out.result()


def apply_hyphen_part(values: StrArray, rate: float, rng: np.random.Generator) -> StrArray:
    """Double-barrelled surnames held as only one part, or with a space for the hyphen."""
    has = np.char.find(values, "-") > 0
    idx = _choose(rng, values.shape[0], rate, has)
    if idx.size == 0:
        return values
    out = _Edits(values)
    for i in idx:
        parts = str(out[i]).split("-")
        k = int(rng.integers(0, 3))
        out[i] = parts[0] if k == 0 else parts[-1] if k == 1 else " ".join(parts)
    return out.result()


def apply_dob_noise(dob: DateArray, swap: float, day: float, year: float,
                    rng: np.random.Generator) -> DateArray:
    out = dob.copy()
    n = dob.shape[0]
    y = dob.astype("datetime64[Y]")
    m = dob.astype("datetime64[M]")
    month = (m - y).astype(np.int64) + 1
    dom = (dob - m).astype(np.int64) + 1
    swappable = (dom <= 12) & (dom != month)
    idx = _choose(rng, n, swap, swappable)
    if idx.size:
        new = y[idx] + (dom[idx] - 1).astype("timedelta64[M]")
        out[idx] = new.astype("datetime64[D]") + (month[idx] - 1).astype("timedelta64[D]")
    idx = _choose(rng, n, day)
    if idx.size:
        out[idx] = out[idx] + np.where(rng.random(idx.size) < 0.5, -1, 1).astype(
            "timedelta64[D]")
    idx = _choose(rng, n, year)
    if idx.size:
        sign = np.where(rng.random(idx.size) < 0.5, -1, 1)
        yy = out[idx].astype("datetime64[Y]")
        mm = out[idx].astype("datetime64[M]")
        dd = (out[idx] - mm).astype(np.int64)
        mon = (mm - yy).astype(np.int64)
        new_m = (yy + sign.astype("timedelta64[Y]")).astype("datetime64[M]") + mon.astype(
            "timedelta64[M]")
        out[idx] = new_m.astype("datetime64[D]") + np.minimum(dd, 27).astype("timedelta64[D]")
    return out


def blank(values: StrArray, rate: float, rng: np.random.Generator) -> StrArray:
    idx = _choose(rng, values.shape[0], rate)
    if idx.size == 0:
        return values
    out = values.copy()
    out[idx] = ""
    return out


def apply_postcode_format(values: StrArray, rate: float, rng: np.random.Generator) -> StrArray:
    idx = _choose(rng, values.shape[0], rate, values != "")
    if idx.size == 0:
        return values
    out = _Edits(values)
    for i in idx:
        v = str(out[i])
        out[i] = v.replace(" ", "") if rng.random() < 0.5 else v.lower()
    return out.result()


_ABBREVIATIONS = ((" Road", " Rd"), (" Street", " St"), (" Avenue", " Ave"), (" Close", " Cl"),
                  (" Lane", " Ln"), (" Drive", " Dr"), (" Gardens", " Gdns"),
                  (" Crescent", " Cres"), (" Place", " Pl"), (" Terrace", " Ter"))
_INWARD = "ABDEFGHJLNPQRSTUWXYZ"


def apply_abbreviations(values: StrArray, rate: float, rng: np.random.Generator) -> StrArray:
    """Street-type abbreviations a clerk or an old system uses (Road -> Rd)."""
    idx = _choose(rng, values.shape[0], rate, values != "")
    if idx.size == 0:
        return values
    out = _Edits(values)
    for i in idx:
        v = str(out[i])
        for long, short in _ABBREVIATIONS:
            if long in v:
                v = v.replace(long, short, 1)
                break
        out[i] = v
    return out.result()


def apply_postcode_typos(values: StrArray, rate: float, rng: np.random.Generator) -> StrArray:
    """The last letter of the inward code mistyped: still shaped like a postcode."""
    idx = _choose(rng, values.shape[0], rate, values != "")
    if idx.size == 0:
        return values
    out = _Edits(values)
    for i in idx:
        v = str(out[i])
        letter = _INWARD[int(rng.integers(0, len(_INWARD)))]
        if letter == v[-1].upper():
            letter = "Z" if letter != "Z" else "A"
        out[i] = v[:-1] + (letter if v[-1].isupper() else letter.lower())
    return out.result()


def apply_phone_format(values: StrArray, rate: float, rng: np.random.Generator) -> StrArray:
    """The same number written another way: ``07700 900123`` or ``+44 7700 900123``."""
    idx = _choose(rng, values.shape[0], rate, values != "")
    if idx.size == 0:
        return values
    out = _Edits(values)
    for i in idx:
        v = out[i]
        out[i] = f"{v[:5]} {v[5:]}" if rng.random() < 0.7 else f"+44 {v[1:5]} {v[5:]}"
    return out.result()
