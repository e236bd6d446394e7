"""The fixed world a population lives in: councils, towns, streets with postcodes, schools, GPs.

Built once per run from the seed and the population size, so that a re-run (or a delta built
against a base run) sees the same world.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from contactpoint.synth.places import (
    COUNCILS,
    GP_FORMS,
    SAINTS,
    SCHOOL_FORMS,
    SECONDARY_FORMS,
    STREET_STEMS,
    STREET_SUFFIX_WEIGHTS,
    STREET_SUFFIXES,
)

IntArray = npt.NDArray[Any]
StrArray = npt.NDArray[Any]
FloatArray = npt.NDArray[Any]

_INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


@dataclass(frozen=True, slots=True)
class World:
    la_code: IntArray  # per council
    council_name: StrArray
    council_weight: FloatArray  # sums to 1
    town_name: StrArray  # per town
    town_council: IntArray
    unit_town: IntArray  # per street unit (one street segment, one postcode)
    unit_street: StrArray
    unit_postcode: StrArray
    unit_council: IntArray
    council_units: tuple[IntArray, ...]  # unit indices per council
    unit_weight_in_council: tuple[FloatArray, ...]
    school_urn: IntArray  # per school
    school_estab: IntArray
    school_council: IntArray
    school_name: StrArray
    school_phase: IntArray  # 0 primary, 1 secondary
    council_schools: tuple[tuple[IntArray, IntArray], ...]  # (primaries, secondaries)
    gp_code: StrArray
    gp_name: StrArray
    council_gps: tuple[IntArray, ...]
    ctf_schools: IntArray  # schools that also send a CTF

    @property
    def school_laestab(self) -> IntArray:
        return self.la_code[self.school_council] * 10_000 + self.school_estab


def _street_names(rng: np.random.Generator, n: int) -> StrArray:
    stems = np.array(STREET_STEMS)
    suffixes = np.array(STREET_SUFFIXES)
    weights = np.array(STREET_SUFFIX_WEIGHTS, dtype=np.float64)
    s = stems[rng.integers(0, stems.size, n)]
    f = suffixes[rng.choice(suffixes.size, n, p=weights / weights.sum())]
    return np.char.add(np.char.add(s, " "), f)


def build_world(children: int, seed: int, ctf_school_share: float = 0.05) -> World:
    rng = np.random.default_rng([seed, 1])
    weights = np.array([c[2] for c in COUNCILS], dtype=np.float64)
    weights /= weights.sum()
    la_code = np.array([c[0] for c in COUNCILS], dtype=np.int64)
    council_name = np.array([c[1] for c in COUNCILS])

    towns: list[str] = []
    town_council: list[int] = []
    town_weight: list[float] = []
    town_districts: list[list[str]] = []
    next_district: dict[str, int] = {}
    for ci, (_, _, _, area, names) in enumerate(COUNCILS):
        for ti, town in enumerate(names):
            share = 0.45 if ti == 0 and len(names) > 1 else 0.55 / max(1, len(names) - 1)
            if len(names) == 1:
                share = 1.0
            n_districts = 4 if ti == 0 else 2
            start = next_district.get(area, 1)
            next_district[area] = start + n_districts
            towns.append(town)
            town_council.append(ci)
            town_weight.append(share)
            town_districts.append([f"{area}{d}" for d in range(start, start + n_districts)])

    households = max(400, children // 2)
    n_units = max(300, households // 10)
    # every council gets a few units whatever the population size, then the rest by weight
    floor = np.repeat(np.arange(len(COUNCILS)), 3)
    council_of_unit = np.concatenate(
        [floor, rng.choice(len(COUNCILS), n_units - len(floor), p=weights)])
    unit_town = np.empty(n_units, dtype=np.int64)
    town_council_arr = np.array(town_council, dtype=np.int64)
    town_weight_arr = np.array(town_weight, dtype=np.float64)
    for ci in range(len(COUNCILS)):
        mask = council_of_unit == ci
        candidates = np.flatnonzero(town_council_arr == ci)
        p = town_weight_arr[candidates] / town_weight_arr[candidates].sum()
        unit_town[mask] = rng.choice(candidates, int(mask.sum()), p=p)
    district = np.array([town_districts[t][rng.integers(0, len(town_districts[t]))]
                         for t in unit_town])
    sector = rng.integers(0, 10, n_units).astype(str)
    letters = np.char.add(_INWARD_LETTERS[rng.integers(0, 20, n_units)],
                          _INWARD_LETTERS[rng.integers(0, 20, n_units)])
    postcode = np.char.add(np.char.add(district, " "), np.char.add(sector, letters))
    street = _street_names(rng, n_units)
    unit_council = town_council_arr[unit_town]
    unit_size = rng.lognormal(0.0, 0.5, n_units)
    council_units = tuple(np.flatnonzero(unit_council == ci) for ci in range(len(COUNCILS)))
    unit_w = tuple(unit_size[u] / unit_size[u].sum() for u in council_units)

    # schools and GP practices, per council
    urn_pool = rng.permutation(np.arange(100_000, 150_000, dtype=np.int64))
    stems = np.array(STREET_STEMS)
    school_urn: list[int] = []
    school_estab: list[int] = []
    school_council: list[int] = []
    school_name: list[str] = []
    school_phase: list[int] = []
    gp_code: list[str] = []
    gp_name: list[str] = []
    council_schools: list[tuple[IntArray, IntArray]] = []
    council_gps: list[IntArray] = []
    gp_letters = "ABCDEFGHJKLMNPY"
    for ci in range(len(COUNCILS)):
        pop = children * weights[ci]
        n_primary = max(2, math.ceil(pop * 0.39 / 300))
        n_secondary = max(1, math.ceil(pop * 0.33 / 1000))
        council_towns = np.flatnonzero(town_council_arr == ci)
        ids: list[list[int]] = [[], []]
        for phase, count in ((0, n_primary), (1, n_secondary)):
            forms = SCHOOL_FORMS if phase == 0 else SECONDARY_FORMS
            for k in range(count):
                idx = len(school_urn)
                school_urn.append(int(urn_pool[idx]))
                school_estab.append((2000 if phase == 0 else 4000) + k)
                school_council.append(ci)
                school_phase.append(phase)
                town = towns[int(council_towns[rng.integers(0, council_towns.size)])]
                form = forms[int(rng.integers(0, len(forms)))]
                school_name.append(form.format(stem=stems[rng.integers(0, stems.size)],
                                               town=town, saint=SAINTS[rng.integers(0, 18)]))
                ids[phase].append(idx)
        council_schools.append((np.array(ids[0], dtype=np.int64),
                                np.array(ids[1], dtype=np.int64)))
        n_gp = max(2, math.ceil(pop / 1900))
        gp_ids: list[int] = []
        for k in range(n_gp):
            gp_ids.append(len(gp_code))
            gp_code.append(f"{gp_letters[ci % len(gp_letters)]}{ci + 10:02d}{k % 1000:03d}")
            town = towns[int(council_towns[rng.integers(0, council_towns.size)])]
            form = GP_FORMS[int(rng.integers(0, len(GP_FORMS)))]
            gp_name.append(form.format(stem=stems[rng.integers(0, stems.size)], town=town))
        council_gps.append(np.array(gp_ids, dtype=np.int64))

    n_schools = len(school_urn)
    n_ctf = max(1, round(n_schools * ctf_school_share))
    ctf = np.sort(rng.choice(n_schools, n_ctf, replace=False)).astype(np.int64)
    return World(
        la_code=la_code, council_name=council_name, council_weight=weights,
        town_name=np.array(towns), town_council=town_council_arr,
        unit_town=unit_town, unit_street=street, unit_postcode=postcode,
        unit_council=unit_council, council_units=council_units, unit_weight_in_council=unit_w,
        school_urn=np.array(school_urn, dtype=np.int64),
        school_estab=np.array(school_estab, dtype=np.int64),
        school_council=np.array(school_council, dtype=np.int64),
        school_name=np.array(school_name), school_phase=np.array(school_phase, dtype=np.int64),
        council_schools=tuple(council_schools), gp_code=np.array(gp_code),
        gp_name=np.array(gp_name), council_gps=tuple(council_gps), ctf_schools=ctf,
    )
