"""The true population: households of children with carers, addresses, schools and GPs.

Generated a chunk at a time with numpy; every array in :class:`Population` has one entry per
child. Nothing here is noisy: sources garble what they hold later (``synth.sources``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from contactpoint.synth.config import SynthConfig
from contactpoint.synth.ids import mobile_numbers, nhs_numbers, upns
from contactpoint.synth.names import MIXED_ORIGIN_SHARE, ORIGIN_SHARE, ORIGINS
from contactpoint.synth.places import HOUSE_NAMES
from contactpoint.synth.pools import NamePools, Pool, mixed_name_pools, name_pools
from contactpoint.synth.world import World

IntArray = npt.NDArray[Any]
StrArray = npt.NDArray[Any]
BoolArray = npt.NDArray[Any]
DateArray = npt.NDArray[Any]

MAX_AGE_DAYS = 18 * 365 + 4 - 1
MIN_GAP_DAYS = 330


@dataclass(slots=True)
class Population:
    pid: IntArray
    hh: IntArray
    origin: IntArray
    birth: IntArray  # one id per birth event: multiples share it
    birth_size: IntArray
    sex: StrArray  # "M" / "F"
    given: StrArray
    middle: StrArray
    family: StrArray
    former_family: StrArray
    preferred: StrArray
    dob: DateArray
    nhs: StrArray
    upn: StrArray
    council: IntArray
    unit: IntArray
    flat: StrArray
    number: IntArray
    prev_unit: IntArray  # -1 when the child has not moved
    prev_flat: StrArray
    prev_number: IntArray
    school: IntArray  # -1: not at a state school
    gp: IntArray
    p1_name: StrArray
    p1_rel: StrArray
    p1_phone: StrArray
    p1_pr: StrArray
    p2_name: StrArray
    p2_rel: StrArray
    p2_phone: StrArray
    p2_pr: StrArray
    households: int = 0
    extra: dict[str, IntArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.pid.shape[0])

    def age_days(self, on: np.datetime64) -> IntArray:
        return (on - self.dob).astype(np.int64)


def academic_year(extract_date: date) -> int:
    """The calendar year in which the school year holding ``extract_date`` began (1 Sept)."""
    return extract_date.year if extract_date.month >= 9 else extract_date.year - 1


def age_on_31_august(dob: DateArray, extract_date: date) -> IntArray:
    """Age on the 31 August before the school year: 4 is Reception, 15 is Year 11."""
    years = dob.astype("datetime64[Y]").astype(np.int64) + 1970
    months = (dob.astype("datetime64[M]").astype(np.int64) % 12) + 1
    return academic_year(extract_date) - years - (months >= 9)


def array_fields() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Population)
                 if f.name not in ("households", "extra"))


def take(pop: Population, idx: IntArray) -> Population:
    """The children at positions ``idx``."""
    changes: dict[str, Any] = {n: getattr(pop, n)[idx] for n in array_fields()}
    return dataclasses.replace(pop, **changes)


def concat(parts: list[Population]) -> Population:
    changes: dict[str, Any] = {
        n: np.concatenate([getattr(p, n) for p in parts]) for n in array_fields()}
    return dataclasses.replace(parts[0], **changes)


def _sample_by_group(rng: np.random.Generator, origin: IntArray, pools: tuple[Pool, ...],
                     ) -> StrArray:
    out = np.empty(origin.shape[0], dtype=object)
    for o in range(len(ORIGINS)):
        mask = origin == o
        count = int(mask.sum())
        if count:
            out[mask] = pools[o].sample(rng, count)
    return out.astype(str)


def draw_forenames(rng: np.random.Generator, origin: IntArray, sex: StrArray,
               names: NamePools) -> StrArray:
    out = np.empty(origin.shape[0], dtype=object)
    male = sex == "M"
    out[male] = _sample_by_group(rng, origin[male], names.male)
    out[~male] = _sample_by_group(rng, origin[~male], names.female)
    return out.astype(str)


def _secondary_names(rng: np.random.Generator, h: int, cfg: SynthConfig) -> StrArray:
    """What comes before the house number: "Flat 12", now and then a house name, or nothing."""
    r = rng.random(h)
    flats = np.char.add("Flat ", rng.integers(1, 40, h).astype(str))
    houses = np.array(HOUSE_NAMES)[rng.integers(0, len(HOUSE_NAMES), h)]
    return np.where(r < cfg.flat_share, flats,
                    np.where(r < cfg.flat_share + cfg.house_name_share, houses, ""))


def draw_households(cfg: SynthConfig, world: World, rng: np.random.Generator, h: int,
                names: NamePools) -> dict[str, npt.NDArray[Any]]:
    share = np.array(ORIGIN_SHARE) / sum(ORIGIN_SHARE)
    if cfg.origin_mix > 0:
        mixed = np.array(MIXED_ORIGIN_SHARE) / sum(MIXED_ORIGIN_SHARE)
        share = (1 - cfg.origin_mix) * share + cfg.origin_mix * mixed
    origin = rng.choice(len(ORIGINS), h, p=share)
    base = _sample_by_group(rng, origin, names.surname)
    other = _sample_by_group(rng, origin, names.surname)
    step = _sample_by_group(rng, origin, names.surname)
    kind_p = np.array([cfg.single_mother, cfg.single_father, cfg.step_father,
                       cfg.grandparent_carer])
    kind = rng.choice(5, h, p=np.append(kind_p, 1 - kind_p.sum()))  # 4: two parents
    r = rng.random((h, 4))
    child_surname = base.astype(object)
    mother_surname = base.astype(object)
    former = np.full(h, "", dtype=object)
    two = kind == 4
    mo = two & (r[:, 0] < cfg.mother_other_surname)
    mother_surname[mo] = other[mo]
    dbl = two & (r[:, 1] < cfg.double_barrelled)
    child_surname[dbl] = np.char.add(np.char.add(other[dbl], "-"), base[dbl])
    mother_surname[dbl] = other[dbl]
    sm = (kind == 0) & (r[:, 0] < 0.4)
    mother_surname[sm] = other[sm]
    stepk = kind == 2
    changed = stepk & (r[:, 2] < cfg.surname_change)
    child_surname[changed] = step[changed]
    former[changed] = base[changed]
    mother_surname[stepk & (r[:, 3] < 0.6)] = step[stepk & (r[:, 3] < 0.6)]
    child_surname = child_surname.astype(str)
    mother_surname = mother_surname.astype(str)
    former = former.astype(str)

    mother = np.char.add(np.char.add(draw_forenames(rng, origin, np.full(h, "F"), names), " "),
                         mother_surname)
    father_surname = np.where(stepk, step, base)
    father = np.char.add(np.char.add(draw_forenames(rng, origin, np.full(h, "M"), names), " "),
                         father_surname)
    gran = np.char.add(np.char.add(draw_forenames(rng, origin, np.full(h, "F"), names), " "), base)
    ph1 = mobile_numbers(rng, h)
    ph2 = mobile_numbers(rng, h)
    empty = np.full(h, "", dtype="<U1")
    p1_name = np.where(kind == 1, father, np.where(kind == 3, gran, mother))
    p1_rel = np.where(kind == 1, "father", np.where(kind == 3, "grandmother", "mother"))
    p1_pr = np.where((kind == 3) & (r[:, 3] < 0.5), "N", "Y")
    has2 = (kind == 4) | (kind == 2)
    p2_name = np.where(has2, father, empty)
    p2_rel = np.where(kind == 2, "step-father", np.where(has2, "father", empty))
    p2_pr = np.where(kind == 2, "N", np.where(has2, np.where(r[:, 1] < 0.9, "Y", "N"), empty))
    p2_phone = np.where(has2 & (r[:, 2] < 0.85), ph2, empty)

    council = rng.choice(world.la_code.size, h, p=world.council_weight)
    unit = np.empty(h, dtype=np.int64)
    gp = np.empty(h, dtype=np.int64)
    primary = np.empty(h, dtype=np.int64)
    secondary = np.empty(h, dtype=np.int64)
    for ci in range(world.la_code.size):
        m = council == ci
        k = int(m.sum())
        if not k:
            continue
        unit[m] = rng.choice(world.council_units[ci], k, p=world.unit_weight_in_council[ci])
        gp[m] = rng.choice(world.council_gps[ci], k)
        prim, sec = world.council_schools[ci]
        primary[m] = rng.choice(prim, k)
        secondary[m] = rng.choice(sec, k)
    number = np.minimum(1 + rng.geometric(0.03, h), 250).astype(np.int64)
    flat = _secondary_names(rng, h, cfg)
    moved = rng.random(h) < cfg.moved_last_year
    prev_unit = np.full(h, -1, dtype=np.int64)
    same = rng.random(h) < cfg.moved_same_council
    for ci in range(world.la_code.size):
        m = moved & same & (council == ci)
        if m.any():
            prev_unit[m] = rng.choice(world.council_units[ci], int(m.sum()))
    far = moved & ~same
    prev_unit[far] = rng.integers(0, world.unit_street.size, int(far.sum()))
    prev_number = np.minimum(1 + rng.geometric(0.03, h), 250).astype(np.int64)
    prev_flat = _secondary_names(rng, h, cfg)
    private = rng.random(h) < cfg.private_school
    return {
        "origin": origin, "family": child_surname, "former": former, "council": council,
        "unit": unit, "number": number, "flat": flat, "prev_unit": prev_unit,
        "prev_number": prev_number, "prev_flat": prev_flat, "gp": gp, "primary": primary,
        "secondary": secondary, "private": private, "p1_name": p1_name, "p1_rel": p1_rel,
        "p1_phone": ph1, "p1_pr": p1_pr, "p2_name": p2_name, "p2_rel": p2_rel,
        "p2_phone": p2_phone, "p2_pr": p2_pr,
    }


def _distinct_sibling_names(rng: np.random.Generator, hh: IntArray, given_in: StrArray,
                            origin: IntArray, sex: StrArray, names: NamePools) -> StrArray:
    given = given_in.astype(object)
    for _ in range(6):
        key = np.char.add(np.char.add(hh.astype(str), "|"), given)
        _, first = np.unique(key, return_index=True)
        clash = np.ones(given.shape[0], dtype=bool)
        clash[first] = False
        if not clash.any():
            break
        given[clash] = draw_forenames(rng, origin[clash], sex[clash], names)
    return given.astype(str)


def _namesakes(rng: np.random.Generator, rate: float, family: StrArray, sex: StrArray,
               given: StrArray, dob: DateArray, council: IntArray, bsize: IntArray,
               ) -> tuple[StrArray, DateArray]:
    """Give a few singletons the forename and date of birth of an unrelated child with the
    same surname and sex in another council: two different children, same name and DOB."""
    n = given.shape[0]
    chosen = np.flatnonzero((rng.random(n) < rate) & (bsize == 1))
    if chosen.size == 0:
        return given, dob
    key = np.char.add(np.char.add(family, "|"), sex)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    lo = np.searchsorted(sorted_key, key[chosen], side="left")
    hi = np.searchsorted(sorted_key, key[chosen], side="right")
    other = order[lo + (rng.random(chosen.size) * (hi - lo)).astype(np.int64)]
    ok = (council[other] != council[chosen]) & (bsize[other] == 1)
    given = given.astype(object)
    given[chosen[ok]] = given[other[ok]]
    dob = dob.copy()
    dob[chosen[ok]] = dob[other[ok]]
    return given.astype(str), dob


def _feminine_forms(family: StrArray, origin: IntArray, sex: StrArray, cfg: SynthConfig,
                    ) -> StrArray:
    """Polish girls carry the feminine form of the family surname (Kowalski -> Kowalska);
    only in the ``name_origins`` condition (the default pools have no such girls)."""
    if cfg.origin_mix <= 0 or family.size == 0:
        return family
    polish = (origin == ORIGINS.index("east_european")) & (sex == "F")
    out = family.astype(object)
    for i in np.flatnonzero(polish):
        name = str(out[i])
        for masc, fem in (("cki", "cka"), ("dzki", "dzka"), ("ski", "ska")):
            if name.endswith(masc):
                out[i] = name[: -len(masc)] + fem
                break
    return out.astype(str)


def generate_chunk(cfg: SynthConfig, world: World, chunk_index: int, first_pid: int,
                   n_children: int, first_hh: int, first_birth: int,
                   upn_counter: dict[int, int]) -> Population:
    """``n_children`` children in whole households (the last one may be cut short)."""
    rng = np.random.default_rng([cfg.seed, 100 + chunk_index])
    names = mixed_name_pools() if cfg.origin_mix > 0 else name_pools()
    h = math.ceil(n_children / 1.2) + 50
    hhd = draw_households(cfg, world, rng, h, names)
    # births per household, multiplicity per birth
    n_births = rng.choice(len(cfg.births_per_household), h,
                          p=np.array(cfg.births_per_household)) + 1
    birth_hh = np.repeat(np.arange(h, dtype=np.int64), n_births)
    nb = birth_hh.size
    u = rng.random(nb)
    size = np.where(u < cfg.triplet_rate, 3, np.where(u < cfg.triplet_rate + cfg.twin_rate, 2, 1))
    # birth ages drawn uniformly, sorted within the household, then spaced at least
    # MIN_GAP_DAYS apart (a running maximum per household keeps the draw vectorised)
    raw = rng.integers(0, MAX_AGE_DAYS + 1, nb)
    raw = raw[np.lexsort((raw, birth_hh))]
    starts = np.flatnonzero(np.r_[True, birth_hh[1:] != birth_hh[:-1]])
    local = np.arange(nb) - np.repeat(starts, n_births)
    big = 10 * (MAX_AGE_DAYS + MIN_GAP_DAYS * 8)
    key = birth_hh * big + raw - MIN_GAP_DAYS * local
    birth_age = np.maximum.accumulate(key) - birth_hh * big + MIN_GAP_DAYS * local
    keep_birth = birth_age <= MAX_AGE_DAYS
    birth_ids = np.arange(nb, dtype=np.int64)
    child_birth = np.repeat(birth_ids[keep_birth], size[keep_birth])
    child_birth = child_birth[:n_children]
    if child_birth.size < n_children:  # pragma: no cover - h is generous
        raise RuntimeError("household draw too small for the chunk")
    n = child_birth.size
    child_hh = birth_hh[child_birth]
    ext = np.datetime64(cfg.extract_date, "D")
    dob = ext - birth_age[child_birth].astype("timedelta64[D]")
    first_of_birth = np.r_[True, child_birth[1:] != child_birth[:-1]]
    origin = hhd["origin"][child_hh]
    sex = np.where(rng.random(n) < 0.512, "M", "F")
    # multiples: often the same sex as the first born
    lead = np.maximum.accumulate(np.where(first_of_birth, np.arange(n), 0))
    copy_sex = ~first_of_birth & (rng.random(n) < cfg.same_sex_multiple)
    sex[copy_sex] = sex[lead[copy_sex]]
    given = draw_forenames(rng, origin, sex, names)
    given = _distinct_sibling_names(rng, child_hh, given, origin, sex, names)
    # a few same-sex multiples get deliberately similar names
    bsize = size[child_birth]
    twin2 = ~first_of_birth & (bsize >= 2) & (sex == sex[lead]) & (child_birth == child_birth[lead])
    pick = twin2 & (rng.random(n) < cfg.similar_twin_names)
    # ... and a few consecutive same-sex siblings too (Ella born 2015, Eliza 2017)
    prev = np.r_[0, np.arange(n - 1)]
    sib = (first_of_birth & (np.arange(n) > 0) & (child_hh == child_hh[prev])
           & (bsize == 1) & (bsize[prev] == 1) & (sex == sex[prev])
           & (rng.random(n) < cfg.similar_sibling_names))
    given = given.astype(object)
    for i, other in ((i, int(lead[i])) for i in np.flatnonzero(pick)):
        pairs = names.similar[str(sex[i])]
        given[other], given[i] = pairs[int(rng.integers(0, len(pairs)))]
    for i in np.flatnonzero(sib):
        pairs = names.similar[str(sex[i])]
        given[i - 1], given[i] = pairs[int(rng.integers(0, len(pairs)))]
    given = _distinct_sibling_names(rng, child_hh, given.astype(str), origin, sex, names)
    given, dob = _namesakes(rng, cfg.namesake_rate, hhd["family"][child_hh], sex, given, dob,
                            hhd["council"][child_hh], bsize)
    middle = draw_forenames(rng, origin, sex, names)
    middle = np.where((rng.random(n) < cfg.middle_name_rate) & (middle != given), middle, "")
    if cfg.second_middle_rate > 0:
        second = draw_forenames(rng, origin, sex, names)
        two = (middle != "") & (second != middle) & (second != given) & (
            rng.random(n) < cfg.second_middle_rate)
        middle = np.where(two, np.char.add(np.char.add(middle, " "), second), middle)
    preferred = np.full(n, "", dtype=object)
    r_pref = rng.random(n)
    for i in np.flatnonzero(r_pref < cfg.preferred_name_rate):
        forms = names.nicknames.get(str(given[i]))
        if forms:
            preferred[i] = forms[int(rng.integers(0, len(forms)))]
    preferred = preferred.astype(str)

    pid = np.arange(first_pid, first_pid + n, dtype=np.int64)
    age_years = ((ext - dob).astype(np.int64) // 365.25).astype(np.int64)
    school_age = age_on_31_august(dob, cfg.extract_date)  # Reception (4) .. Year 12 (16)
    in_school = (school_age >= 4) & (school_age <= 16) & ~hhd["private"][child_hh]
    school = np.where(school_age <= 10, hhd["primary"][child_hh], hhd["secondary"][child_hh])
    school = np.where(in_school, school, -1)
    upn = np.full(n, "", dtype="<U13")
    if in_school.any():
        prim = hhd["primary"][child_hh][in_school]
        # the UPN was allocated in the year the child started Reception
        yy = (academic_year(cfg.extract_date) - (school_age[in_school] - 4)) % 100
        key = prim * 100 + yy
        order = np.argsort(key, kind="stable")
        sk = key[order]
        grp_start = np.r_[True, sk[1:] != sk[:-1]]
        positions = np.arange(sk.size)
        idx_in = positions - np.maximum.accumulate(np.where(grp_start, positions, 0))
        serial = np.empty(sk.size, dtype=np.int64)
        base = np.array([upn_counter.get(int(k), 0) for k in sk[grp_start]], dtype=np.int64)
        group_sizes = np.diff(np.r_[np.flatnonzero(grp_start), sk.size])
        serial[order] = idx_in + np.repeat(base, group_sizes)
        for k, c in zip(*np.unique(sk, return_counts=True), strict=True):
            upn_counter[int(k)] = upn_counter.get(int(k), 0) + int(c)
        if (serial >= 1000).any():
            raise RuntimeError("UPN serial overflow: too few schools for the population")
        upn[in_school] = upns(world.la_code[world.school_council[prim]],
                              world.school_estab[prim], yy, serial)
    hh_used = int(child_hh.max()) + 1 if n else 0
    return Population(
        pid=pid, hh=first_hh + child_hh, origin=origin.astype(np.int64),
        birth=first_birth + child_birth,
        birth_size=bsize.astype(np.int64), sex=sex, given=given, middle=middle,
        family=_feminine_forms(hhd["family"][child_hh], origin, sex, cfg),
        former_family=np.where(age_years >= 1, hhd["former"][child_hh], ""),
        preferred=preferred, dob=dob, nhs=nhs_numbers(pid, cfg.seed), upn=upn,
        council=hhd["council"][child_hh], unit=hhd["unit"][child_hh],
        flat=hhd["flat"][child_hh], number=hhd["number"][child_hh],
        prev_unit=hhd["prev_unit"][child_hh], prev_flat=hhd["prev_flat"][child_hh],
        prev_number=hhd["prev_number"][child_hh], school=school, gp=hhd["gp"][child_hh],
        p1_name=hhd["p1_name"][child_hh], p1_rel=hhd["p1_rel"][child_hh],
        p1_phone=hhd["p1_phone"][child_hh], p1_pr=hhd["p1_pr"][child_hh],
        p2_name=hhd["p2_name"][child_hh], p2_rel=hhd["p2_rel"][child_hh],
        p2_phone=hhd["p2_phone"][child_hh], p2_pr=hhd["p2_pr"][child_hh],
        households=hh_used, extra={"births": np.array([nb], dtype=np.int64)},
    )
