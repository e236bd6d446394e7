"""What each source holds about the children it covers, garbled at its own rates.

A source view is a dict of column name -> numpy array, one entry per record, with every column
of the CSV feed contract plus private columns (leading underscore) the writers use: the true
person index, the council, and the FHIR extras.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from contactpoint.synth.config import Noise, SynthConfig
from contactpoint.synth.ids import (
    chosen_people,
    mobile_numbers,
    second_nhs_numbers,
    second_upns,
    source_keys,
)
from contactpoint.synth.names import ORIGINS
from contactpoint.synth.noise import (
    apply_abbreviations,
    apply_case_space,
    apply_dob_noise,
    apply_dob_parts,
    apply_family_first,
    apply_hyphen_part,
    apply_initials,
    apply_name_habits,
    apply_nicknames,
    apply_phone_format,
    apply_postcode_format,
    apply_postcode_typos,
    apply_typos,
    apply_variants,
    blank,
)
from contactpoint.synth.pools import mixed_name_pools
from contactpoint.synth.population import Population, academic_year, age_on_31_august
from contactpoint.synth.world import World

IntArray = npt.NDArray[Any]
View = dict[str, npt.NDArray[Any]]

CSV_COLUMNS: tuple[str, ...] = (
    "source_record_id", "record_status", "given_name", "middle_names", "family_name",
    "former_family_name", "preferred_name", "date_of_birth", "sex", "address_line_1",
    "address_line_2", "address_line_3", "town", "postcode", "nhs_number", "upn",
    "parent_1_name", "parent_1_relationship", "parent_1_phone", "parent_1_parental_responsibility",
    "parent_2_name", "parent_2_relationship", "parent_2_phone", "parent_2_parental_responsibility",
    "service_type", "service_org_code", "service_org_name", "practitioner_name",
    "practitioner_role", "practitioner_phone", "practitioner_email", "service_start",
    "service_end", "sensitive_service", "consent_to_disclose", "assessment_status",
    "lead_professional",
)

# salts for the per-source key permutations (any distinct numbers)
SALT = {"NHS-PDS": 11, "GRO-BIRTHS": 23, "HMRC-CHB": 37, "LA-CSC": 41, "YOT": 53, "SHS": 67,
        "HV": 71, "SN": 73, "EH": 79, "CX": 83, "CAMHS": 89}
DUPLICATE_KEY_OFFSET = 500_000_000
THIRD_RECORD_KEY_OFFSET = 750_000_000
# salts of the per-person choices that must agree across sources (ids.chosen_people)
TWO_NHS_SALT = 3
LOOKED_AFTER_SALT = 5
PLACEMENTS = 4  # addresses a looked-after child is known at: home and three placements


def _empty(n: int) -> npt.NDArray[Any]:
    return np.full(n, "", dtype="<U1")


def held(pop: Population, world: World, idx: IntArray, latest: np.datetime64, noise: Noise,
         rng: np.random.Generator, joined_flat: bool = False,
         cfg: SynthConfig | None = None) -> View:
    """The identity part of a record, as a source with ``noise`` holds it.

    ``latest`` is the extract date: a garbled date of birth never lands after it. ``cfg``
    carries the population-wide knobs of the robustness conditions (second NHS numbers,
    looked-after children, the mixed-origin pools); ``None`` is the default population.
    """
    n = idx.size
    mixed = cfg is not None and cfg.origin_mix > 0
    given = pop.given[idx]
    family = pop.family[idx]
    former = pop.former_family[idx]
    preferred = pop.preferred[idx]
    # children whose surname changed: some sources still hold the old one
    stale_name = (former != "") & (rng.random(n) < noise.former_surname)
    family = np.where(stale_name, former, family)
    former = blank(np.where(stale_name, "", former), noise.former_missing, rng)
    given = apply_nicknames(given, preferred, noise.nickname, rng)
    variants = mixed_name_pools().variants if mixed else None
    given = apply_variants(given, noise.transliteration, rng, variants)
    family = apply_variants(family, noise.transliteration, rng, variants)
    middle = pop.middle[idx]
    if noise.name_form > 0 or noise.family_first > 0:
        origin = np.array(ORIGINS)[pop.origin[idx]]
        given, middle, family = apply_name_habits(given, middle, family, origin,
                                                  noise.name_form, rng)
        given, family = apply_family_first(given, family, origin == "chinese",
                                           noise.family_first, rng)
    family = apply_hyphen_part(family, noise.hyphen_part, rng)
    given = apply_typos(given, noise.typo_given, rng)
    family = apply_typos(family, noise.typo_family, rng)
    given = apply_case_space(given, noise.case_space, rng)
    family = apply_case_space(family, noise.case_space, rng)
    dob = apply_dob_noise(pop.dob[idx], noise.dob_swap, noise.dob_day, noise.dob_year, rng)
    dob = apply_dob_parts(dob, noise.dob_first_of_month, noise.dob_first_of_year, rng)
    dob = np.where(dob > latest, pop.dob[idx], dob)
    sex = blank(pop.sex[idx], noise.sex_missing, rng)
    sex = np.where((sex == "") & (rng.random(n) < 0.5), "U", sex)
    # address: the previous one for some children who moved
    stale = (pop.prev_unit[idx] >= 0) & (rng.random(n) < noise.stale_address)
    unit = np.where(stale, pop.prev_unit[idx], pop.unit[idx])
    flat = np.where(stale, pop.prev_flat[idx], pop.flat[idx])
    number = np.where(stale, pop.prev_number[idx], pop.number[idx])
    placement = _placements(pop, world, idx, cfg, rng)
    if placement is not None:
        away = placement > 0
        pid = pop.pid[idx].astype(np.int64)
        unit = np.where(away, (pid * 7919 + placement * 104_729) % world.unit_street.size, unit)
        number = np.where(away, 1 + (pid * 31 + placement * 17) % 120, number)
        flat = np.where(away, "", flat)
    street_line = np.char.add(np.char.add(number.astype(str), " "), world.unit_street[unit])
    has_flat = flat != ""
    if joined_flat:
        line1 = np.where(has_flat, np.char.add(np.char.add(flat, ", "), street_line),
                         street_line)
        line2 = _empty(n)
    else:
        line1 = np.where(has_flat, flat, street_line)
        line2 = np.where(has_flat, street_line, "")
    line1 = apply_abbreviations(line1, noise.address_abbrev, rng)
    line2 = apply_abbreviations(line2, noise.address_abbrev, rng)
    postcode = blank(world.unit_postcode[unit], noise.postcode_missing, rng)
    postcode = apply_postcode_typos(postcode, noise.postcode_typo, rng)
    postcode = apply_postcode_format(postcode, noise.postcode_format, rng)
    middle = apply_initials(blank(middle, noise.middle_missing, rng), noise.middle_initial, rng)
    view = {
        "given_name": given, "middle_names": middle,
        "family_name": family, "former_family_name": former,
        "preferred_name": preferred, "date_of_birth": np.datetime_as_string(dob, unit="D"),
        "sex": sex, "address_line_1": line1, "address_line_2": line2,
        "address_line_3": _empty(n), "town": world.town_name[world.unit_town[unit]],
        "postcode": postcode,
        "nhs_number": blank(_superseded_nhs(pop, idx, noise.superseded_nhs, cfg, rng,
                                            _sibling_nhs(pop, idx, noise.nhs_of_sibling, rng)),
                            noise.nhs_missing, rng),
        "upn": pop.upn[idx],
        "parent_1_name": pop.p1_name[idx], "parent_1_relationship": pop.p1_rel[idx],
        "parent_1_phone": apply_phone_format(pop.p1_phone[idx], noise.phone_format, rng),
        "parent_1_parental_responsibility": pop.p1_pr[idx],
        "parent_2_name": pop.p2_name[idx], "parent_2_relationship": pop.p2_rel[idx],
        "parent_2_phone": apply_phone_format(pop.p2_phone[idx], noise.phone_format, rng),
        "parent_2_parental_responsibility": pop.p2_pr[idx],
        "_pid": pop.pid[idx],
        # the council whose records these are: where the held address is (a child who moved
        # away can still be open to the old council's services, at the old address)
        "_la": world.la_code[world.unit_council[unit]],
    }
    if placement is not None:
        _foster_carers(view, placement > 0, world, rng)
    return view


def looked_after(pop: Population, cfg: SynthConfig | None) -> npt.NDArray[Any]:
    """Which children are looked after (the same in every source)."""
    rate = cfg.looked_after_rate if cfg is not None else 0.0
    return chosen_people(pop.pid, rate, LOOKED_AFTER_SALT)


def _placements(pop: Population, world: World, idx: IntArray, cfg: SynthConfig | None,
                rng: np.random.Generator) -> IntArray | None:
    """For each record, which of a looked-after child's addresses the source holds: 0 the
    family home, 1.. a placement (fixed per child); ``None`` when no child is looked after."""
    if cfg is None or cfg.looked_after_rate <= 0 or idx.size == 0:
        return None
    lac = looked_after(pop, cfg)[idx]
    return np.where(lac, rng.integers(0, PLACEMENTS, idx.size), 0)


def _foster_carers(view: View, away: npt.NDArray[Any], world: World,
                   rng: np.random.Generator) -> None:
    """At a placement, the carer a source knows is the foster carer, not the parents."""
    m = int(away.sum())
    if not m:
        return
    names = view["parent_1_name"].astype(object)
    names[away] = _adult_names(rng, m, world)
    view["parent_1_name"] = names.astype(str)
    phones = view["parent_1_phone"].astype(object)
    phones[away] = mobile_numbers(rng, m)
    view["parent_1_phone"] = phones.astype(str)
    for col, value in (("parent_1_relationship", "guardian"),
                       ("parent_1_parental_responsibility", "N")):
        view[col] = np.where(away, value, view[col])
    for col in ("parent_2_name", "parent_2_relationship", "parent_2_phone",
                "parent_2_parental_responsibility"):
        view[col] = np.where(away, "", view[col])


def _superseded_nhs(pop: Population, idx: IntArray, rate: float, cfg: SynthConfig | None,
                    rng: np.random.Generator, nhs: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Children with two NHS numbers: this source holds the superseded one at ``rate``."""
    if cfg is None or cfg.two_nhs_rate <= 0 or rate <= 0 or idx.size == 0:
        return nhs
    two = chosen_people(pop.pid[idx], cfg.two_nhs_rate, TWO_NHS_SALT)
    old = two & (rng.random(idx.size) < rate)
    if not old.any():
        return nhs
    out = nhs.astype(object)
    out[old] = second_nhs_numbers(pop.pid[idx][old], cfg.seed)
    return out.astype(str)


def _sibling_nhs(pop: Population, idx: IntArray, rate: float,
                 rng: np.random.Generator) -> npt.NDArray[Any]:
    """The child's NHS number, or now and then a brother's or sister's keyed in by mistake."""
    nhs = pop.nhs[idx]
    if rate <= 0 or idx.size == 0:
        return nhs
    n = len(pop)
    hit = np.flatnonzero(rng.random(idx.size) < rate)
    at = idx[hit]
    after = np.minimum(at + 1, n - 1)
    before = np.maximum(at - 1, 0)
    sibling = np.where(pop.hh[after] == pop.hh[at], after,
                       np.where(pop.hh[before] == pop.hh[at], before, at))
    nhs = nhs.copy()
    nhs[hit] = pop.nhs[sibling]
    return nhs


def complete(view: View, n: int) -> View:
    for col in CSV_COLUMNS:
        if col not in view:
            view[col] = _empty(n)
    return view


def with_duplicates(view: View, rate: float, rng: np.random.Generator, prefix: str,
                    salt: int, noise: Noise, *, identifier: str | None = None,
                    seed: int = 0, offset: int = DUPLICATE_KEY_OFFSET,
                    among: int | None = None) -> View:
    """Add a second record (a new key, freshly garbled names) for a few of the children.

    ``identifier``: the second record carries a second identifier of its own, ``"nhs"`` (a
    second NHS number, its key the PDS key for that number) or ``"upn"`` (a second UPN, which
    is the census key); ``None``: the same identifiers, a new key. ``among``: pick only from
    the first rows (the originals, when a third record is added); ``offset`` keeps the keys
    of a third record apart from the second's."""
    n = view["_pid"].shape[0] if among is None else among
    pick = np.flatnonzero(rng.random(n) < rate)
    if pick.size == 0:
        return view
    dup = {k: v[pick].copy() for k, v in view.items()}
    pid = dup["_pid"].astype(np.int64)
    if identifier == "upn":
        dup["upn"] = second_upns(dup["upn"], pid)
        dup["source_record_id"] = dup["upn"].copy()
    else:
        dup["source_record_id"] = source_keys(prefix, pid + offset, salt)
    if identifier == "nhs":
        dup["nhs_number"] = second_nhs_numbers(pid, seed)
    dup["given_name"] = apply_typos(dup["given_name"], 0.3, rng)
    dup["family_name"] = apply_typos(dup["family_name"], 0.2, rng)
    dup["postcode"] = blank(dup["postcode"], noise.postcode_missing * 3, rng)
    return {k: np.concatenate([view[k], dup[k]]) for k in view}


def _adult_names(rng: np.random.Generator, n: int, world: World) -> npt.NDArray[Any]:
    from contactpoint.synth.pools import name_pools

    pools = name_pools()
    fem = rng.random(n) < 0.75
    fore = np.where(fem, pools.female[0].sample(rng, n), pools.male[0].sample(rng, n))
    sur = pools.surname[0].sample(rng, n)
    return np.char.add(np.char.add(fore, " "), sur)


def _latest(cfg: SynthConfig) -> np.datetime64:
    return np.datetime64(cfg.extract_date, "D")


def _age_years(pop: Population, on: np.datetime64) -> IntArray:
    return (pop.age_days(on) // 365.25).astype(np.int64)


def pds(pop: Population, world: World, cfg: SynthConfig, rng: np.random.Generator) -> View:
    idx = np.flatnonzero(rng.random(len(pop)) < cfg.pds_coverage)
    v = held(pop, world, idx, _latest(cfg), cfg.noise_pds, rng, cfg=cfg)
    v["source_record_id"] = source_keys("PDS-", pop.pid[idx], SALT["NHS-PDS"])
    v["_gp_code"] = world.gp_code[pop.gp[idx]]
    v["_gp_name"] = world.gp_name[pop.gp[idx]]
    # newborns not yet named on the spine: "Baby <surname>"
    ext = np.datetime64(cfg.extract_date, "D")
    baby = (pop.age_days(ext)[idx] < 42) & (rng.random(idx.size) < 0.5)
    v["given_name"] = np.where(baby, "Baby", v["given_name"])
    v["middle_names"] = np.where(baby, "", v["middle_names"])
    v["preferred_name"] = np.where(baby, "", v["preferred_name"])
    v["upn"] = _empty(idx.size)
    v["service_type"] = np.full(idx.size, "primary_care")
    v["service_org_code"] = v["_gp_code"]
    v["service_org_name"] = v["_gp_name"]
    v = complete(v, idx.size)
    if cfg.noise_pds.duplicate > 0:  # a child registered twice: a second NHS number
        v = with_duplicates(v, cfg.noise_pds.duplicate, rng, "PDS-", SALT["NHS-PDS"],
                            cfg.noise_pds, identifier="nhs", seed=cfg.seed)
    return v


def gro(pop: Population, world: World, cfg: SynthConfig, rng: np.random.Generator) -> View:
    ext = np.datetime64(cfg.extract_date, "D")
    idx = np.flatnonzero(pop.age_days(ext) < 365)
    v = held(pop, world, idx, _latest(cfg), cfg.noise_gro, rng, cfg=cfg)
    v["source_record_id"] = source_keys("GRO-", pop.pid[idx], SALT["GRO-BIRTHS"], width=10)
    v["preferred_name"] = _empty(idx.size)
    v["upn"] = _empty(idx.size)
    # a birth registration names the parents, not step-parents or grandparents
    keep2 = v["parent_2_relationship"] == "father"
    for col in ("parent_2_name", "parent_2_relationship", "parent_2_phone",
                "parent_2_parental_responsibility"):
        v[col] = np.where(keep2, v[col], "")
    v = complete(v, idx.size)
    if cfg.noise_gro.duplicate > 0:  # a birth re-registered under a new entry number
        v = with_duplicates(v, cfg.noise_gro.duplicate, rng, "GRO-", SALT["GRO-BIRTHS"],
                            cfg.noise_gro)
    return v


def census(pop: Population, world: World, cfg: SynthConfig, rng: np.random.Generator,
           noise: Noise | None = None, everyone: bool = False) -> View:
    in_school = pop.school >= 0
    pick = in_school if everyone else in_school & (rng.random(len(pop)) < cfg.census_coverage)
    idx = np.flatnonzero(pick)
    noise = noise or cfg.noise_census
    v = held(pop, world, idx, _latest(cfg), noise, rng, cfg=cfg)
    v["source_record_id"] = pop.upn[idx]
    v["nhs_number"] = _empty(idx.size)
    school = pop.school[idx]
    v["service_type"] = np.full(idx.size, "education")
    v["service_org_code"] = world.school_urn[school].astype(str)
    v["service_org_name"] = world.school_name[school]
    age = age_on_31_august(pop.dob[idx], cfg.extract_date)
    year = academic_year(cfg.extract_date)
    start_year = np.where(world.school_phase[school] == 0, year - (age - 4), year - (age - 11))
    v["service_start"] = np.char.add(start_year.astype(str), "-09-01")
    v["_school"] = school
    v = complete(v, idx.size)
    if noise.duplicate > 0:  # a second UPN, allocated by the school the pupil left
        v = with_duplicates(v, noise.duplicate, rng, "", 0, noise, identifier="upn")
    return v


def chb(pop: Population, world: World, cfg: SynthConfig, rng: np.random.Generator) -> View:
    ext = np.datetime64(cfg.extract_date, "D")
    idx = np.flatnonzero((_age_years(pop, ext) < 16) & (rng.random(len(pop)) < cfg.chb_coverage))
    v = held(pop, world, idx, _latest(cfg), cfg.noise_chb, rng, joined_flat=True, cfg=cfg)
    v["source_record_id"] = source_keys("CHB-", pop.pid[idx], SALT["HMRC-CHB"])
    v["nhs_number"] = _empty(idx.size)
    v["upn"] = _empty(idx.size)
    v["preferred_name"] = _empty(idx.size)
    for col in ("parent_2_name", "parent_2_relationship", "parent_2_phone",
                "parent_2_parental_responsibility"):
        v[col] = _empty(idx.size)
    v = complete(v, idx.size)
    if cfg.dedupe_only > 0:  # the only source: a share of its children claimed twice or thrice
        v = with_duplicates(v, cfg.dedupe_only, rng, "CHB-", SALT["HMRC-CHB"], cfg.noise_chb)
        return with_duplicates(v, cfg.dedupe_only / 3, rng, "CHB-", SALT["HMRC-CHB"],
                               cfg.noise_chb, offset=THIRD_RECORD_KEY_OFFSET, among=idx.size)
    return with_duplicates(v, cfg.noise_chb.duplicate, rng, "CHB-", SALT["HMRC-CHB"],
                           cfg.noise_chb)


def _practitioners(v: View, n: int, world: World, ext: np.datetime64,
                   rng: np.random.Generator, role: str,
                   org_prefix: str, org_suffix: str) -> None:
    if n == 0:  # numpy's string functions refuse empty arrays
        return
    la = v["_la"].astype(np.int64)
    names = _adult_names(rng, n, world)
    council_of = {int(c): str(nm) for c, nm in zip(world.la_code, world.council_name,
                                                     strict=True)}
    slug = np.array([council_of[int(c)].lower().replace(" ", "") for c in la])
    v["practitioner_name"] = names
    v["practitioner_role"] = np.full(n, role)
    v["practitioner_phone"] = np.char.add("0", rng.integers(1_000_000_000, 1_999_999_999, n)
                                          .astype(str))
    email_local = np.char.replace(np.char.lower(names), " ", ".")
    v["practitioner_email"] = np.char.add(np.char.add(email_local, "@"),
                                          np.char.add(slug, ".gov.uk"))
    v["service_org_code"] = np.char.add(org_prefix, la.astype(str))
    v["service_org_name"] = np.array([council_of[int(c)] + org_suffix for c in la])
    ext_days = rng.integers(30, 1100, n).astype("timedelta64[D]")
    v["service_start"] = np.datetime_as_string(
        np.maximum(ext - ext_days, v["date_of_birth"].astype("datetime64[D]")), unit="D")


# the ``many_sources`` condition's local services: (minimum age, maximum age, coverage at
# extra_services=1, key prefix, service_type, practitioner role, org code, org name suffix)
EXTRA_SERVICES: dict[str, tuple[int, int, float, str, str, str, str, str]] = {
    "hv": (0, 4, 0.85, "HV-", "health_visitor", "Health Visitor", "HV",
           " Health Visiting Service"),
    "sn": (5, 11, 0.7, "SN-", "school_nurse", "School Nurse", "SN", " School Nursing Service"),
    "eh": (0, 17, 0.12, "EH-", "other", "Early Help Practitioner", "EH", " Early Help"),
    "cx": (16, 17, 0.6, "CX-", "connexions", "Personal Adviser", "CX", " Connexions"),
    "camhs": (5, 17, 0.1, "CAMHS-", "camhs", "Clinician", "CAMHS", " CAMHS"),
}


def extra_service(pop: Population, world: World, cfg: SynthConfig, rng: np.random.Generator,
                  kind: str) -> View:
    """One of :data:`EXTRA_SERVICES` (health visiting, school nursing, early help, Connexions,
    CAMHS), at the local systems' noise (CAMHS: the sensitive services')."""
    lo, hi, coverage, prefix, service, role, org, suffix = EXTRA_SERVICES[kind]
    ext = np.datetime64(cfg.extract_date, "D")
    age = _age_years(pop, ext)
    rate = min(1.0, coverage * cfg.extra_services)
    idx = np.flatnonzero((age >= lo) & (age <= hi) & (rng.random(len(pop)) < rate))
    n = idx.size
    noise = cfg.noise_sensitive if kind == "camhs" else cfg.noise_local
    v = held(pop, world, idx, _latest(cfg), noise, rng, joined_flat=bool(rng.random() < 0.5),
             cfg=cfg)
    v["source_record_id"] = source_keys(prefix, pop.pid[idx], SALT[kind.upper()], width=8)
    v["upn"] = blank(v["upn"], 0.7, rng)
    _practitioners(v, n, world, ext, rng, role, org, suffix)
    v["service_type"] = np.full(n, service)
    if kind == "camhs":
        v["sensitive_service"] = np.full(n, "Y")
        v["consent_to_disclose"] = np.where(rng.random(n) < 0.6, "Y", "N")
    v = complete(v, n)
    return with_duplicates(v, noise.duplicate, rng, prefix, SALT[kind.upper()], noise)


def local(pop: Population, world: World, cfg: SynthConfig, rng: np.random.Generator,
          kind: str) -> View:
    """Children's social care (``csc``), youth offending (``yot``) or sensitive (``shs``)."""
    if kind in EXTRA_SERVICES:
        return extra_service(pop, world, cfg, rng, kind)
    ext = np.datetime64(cfg.extract_date, "D")
    age = _age_years(pop, ext)
    if kind == "csc":
        hh_pick = rng.random(int(pop.hh.max()) + 1 if len(pop) else 0) < cfg.csc_rate
        pick = hh_pick[pop.hh] if len(pop) else np.zeros(0, dtype=bool)
        if cfg.looked_after_rate > 0:  # looked-after children are open to social care
            pick = pick | looked_after(pop, cfg)
        noise, prefix = cfg.noise_local, "CSC-"
    elif kind == "yot":
        pick = (age >= 10) & (rng.random(len(pop)) < cfg.yot_rate)
        noise, prefix = cfg.noise_local, "YOT-"
    else:
        pick = (age >= 13) & (rng.random(len(pop)) < cfg.shs_rate)
        noise, prefix = cfg.noise_sensitive, "SHS-"
    idx = np.flatnonzero(pick)
    n = idx.size
    v = held(pop, world, idx, _latest(cfg), noise, rng, joined_flat=bool(rng.random() < 0.5),
             cfg=cfg)
    salt = SALT["LA-CSC" if kind == "csc" else kind.upper()]
    v["source_record_id"] = source_keys(prefix, pop.pid[idx], salt, width=8)
    v["upn"] = blank(v["upn"], 0.5, rng)
    if kind == "csc":
        _practitioners(v, n, world, ext, rng, "Social Worker", "CSC", " Children's Services")
        v["service_type"] = np.full(n, "social_care")
        r = rng.random(n)
        v["assessment_status"] = np.where(r < 0.2, "in_progress",
                                          np.where(r < 0.5, "completed", "none"))
        v["lead_professional"] = np.where(rng.random(n) < 0.4, "Y", "")
    elif kind == "yot":
        _practitioners(v, n, world, ext, rng, "YOT Case Manager", "YOT", " Youth Justice Service")
        v["service_type"] = np.full(n, "youth_offending")
    else:
        _practitioners(v, n, world, ext, rng, "Clinician", "SHS", " Young People's Health Service")
        r = rng.random(n)
        v["service_type"] = np.where(r < 0.45, "sexual_health",
                                     np.where(r < 0.8, "camhs", "substance_misuse"))
        v["sensitive_service"] = np.full(n, "Y")
        v["consent_to_disclose"] = np.where(rng.random(n) < 0.6, "Y", "N")
        # young people often give a mobile and no parent
        for col in ("parent_2_name", "parent_2_relationship", "parent_2_phone",
                    "parent_2_parental_responsibility"):
            v[col] = _empty(n)
    v = complete(v, n)
    return with_duplicates(v, noise.duplicate, rng, prefix, salt, noise)
