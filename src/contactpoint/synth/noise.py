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


def apply_variants(values: StrArray, rate: float, rng: np.random.Generator,
                   variants: dict[str, tuple[str, ...]] | None = None) -> StrArray:
    """Transliteration or alternative spellings (Mohammed/Muhammad, Aleksandr/Alexander);
    ``variants``: the table to use (default: the default pools')."""
    if variants is None:
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


def apply_initials(values: StrArray, rate: float, rng: np.random.Generator) -> StrArray:
    """Middle names written as initials (``Iqra Ivy`` -> ``I I``), or only the first one kept
    (``Iqra``, ``I``): what a form with a short "middle initial" box or a clerk does."""
    idx = _choose(rng, values.shape[0], rate, values != "")
    if idx.size == 0:
        return values
    out = _Edits(values)
    for i in idx:
        parts = str(out[i]).split()
        r = rng.random()
        if r < 0.6:
            out[i] = " ".join(p[0] for p in parts)
        elif r < 0.85:
            out[i] = parts[0][0]
        else:
            out[i] = parts[0]
    return out.result()


def apply_dob_parts(dob: DateArray, first_of_month: float, first_of_year: float,
                    rng: np.random.Generator) -> DateArray:
    """An unknown day written as the 1st of the month; unknown day and month as 1 January."""
    out = dob
    idx = _choose(rng, dob.shape[0], first_of_month)
    if idx.size:
        out = out.copy()
        out[idx] = out[idx].astype("datetime64[M]").astype("datetime64[D]")
    idx = _choose(rng, dob.shape[0], first_of_year)
    if idx.size:
        out = out.copy()
        out[idx] = out[idx].astype("datetime64[Y]").astype("datetime64[D]")
    return out


_PREFIXES = ("Al-", "El-", "Al ", "El ")


def _arabic_prefix(name: str, rng: np.random.Generator) -> str:
    """``Al-Rashid`` as ``Al Rashid``, ``Alrashid``, ``El-Rashid`` or ``Rashid``."""
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            stem = name[len(prefix):]
            k = int(rng.integers(0, 4))
            return [f"Al {stem}", f"Al{stem.lower()}", f"El-{stem}", stem][k]
    return name


def _polish_form(name: str) -> str:
    """A Polish surname in the other gender's form (Kowalska <-> Kowalski)."""
    for fem, masc in (("cka", "cki"), ("dzka", "dzki"), ("ska", "ski")):
        if name.endswith(fem):
            return name[: -len(fem)] + masc
        if name.endswith(masc):
            return name[: -len(masc)] + fem
    return name


_COMPOUND_PREFIXES = ("Oluwa", "Olu", "Chukwu", "Chi", "Ade", "Ayo")


def _short_compound(name: str, rng: np.random.Generator) -> str:
    """A compound Yoruba or Igbo forename shortened or split (Oluwadamilola -> Damilola or
    Oluwa Damilola)."""
    for prefix in _COMPOUND_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix) + 2:
            rest = name[len(prefix):]
            if rng.random() < 0.6:
                return rest[0].upper() + rest[1:]
            return f"{prefix} {rest[0].upper()}{rest[1:]}"
    return name


def apply_name_habits(given: StrArray, middle: StrArray, family: StrArray, origin: StrArray,
                      rate: float, rng: np.random.Generator,
                      ) -> tuple[StrArray, StrArray, StrArray]:
    """Naming habits of a few origins, each at ``rate`` of the records they can touch:

    * South Asian, Arabic and Nigerian children known by their middle (calling) name: the
      source holds it as the given name and the first name as a middle one;
    * Arabic ``Al-``/``El-`` surname prefixes written another way or dropped;
    * Polish surnames in the other gender's form (a girl's ``-ska`` as her father's ``-ski``);
    * Nigerian compound forenames shortened or split.
    """
    idx = _choose(rng, given.shape[0], rate)
    if idx.size == 0:
        return given, middle, family
    g, m, f = _Edits(given), _Edits(middle), _Edits(family)
    for i in idx:
        o = str(origin[i])
        if o in ("south_asian", "arabic", "african") and m[i] and rng.random() < 0.5:
            first = m[i].split()[0]
            g[i], m[i] = first, " ".join([g[i], *m[i].split()[1:]])
        elif o == "arabic":
            f[i] = _arabic_prefix(f[i], rng)
        elif o == "east_european":
            f[i] = _polish_form(f[i])
        elif o == "african":
            g[i] = _short_compound(g[i], rng)
    return g.result(), m.result(), f.result()


def apply_family_first(given: StrArray, family: StrArray, eligible: BoolArray, rate: float,
                       rng: np.random.Generator) -> tuple[StrArray, StrArray]:
    """Family name written first: the source's given and family fields swapped."""
    idx = _choose(rng, given.shape[0], rate, eligible)
    if idx.size == 0:
        return given, family
    g, f = _Edits(given), _Edits(family)
    for i in idx:
        g[i], f[i] = f[i], g[i]
    return g.result(), f.result()
