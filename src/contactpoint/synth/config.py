"""The knobs of the synthetic population: rates of every hard case, per-source coverage/noise."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from contactpoint.errors import ValidationFailed

DEFAULT_EXTRACT_DATE = date(2026, 11, 1)


@dataclass(frozen=True, slots=True)
class Noise:
    """How often a source garbles each field of a record it holds (probabilities per record)."""

    typo_given: float = 0.005
    typo_family: float = 0.005
    nickname: float = 0.01  # preferred/short form used as the given name
    transliteration: float = 0.05  # of names that have a variant spelling
    case_space: float = 0.01  # upper case, doubled or trailing spaces
    hyphen_part: float = 0.3  # of double-barrelled surnames: only one part held
    former_surname: float = 0.1  # of children whose surname changed: still the old one
    dob_swap: float = 0.001  # day/month swapped (when the day is 12 or less)
    dob_day: float = 0.002  # off by one day
    dob_year: float = 0.001  # off by one year
    sex_missing: float = 0.005
    postcode_missing: float = 0.01
    postcode_format: float = 0.05  # no space / lower case
    stale_address: float = 0.1  # of children who moved: the previous address is held
    nhs_missing: float = 0.0
    nhs_of_sibling: float = 0.0  # a brother's or sister's (valid) NHS number keyed in
    address_abbrev: float = 0.0  # Road -> Rd, Street -> St ...
    postcode_typo: float = 0.0  # last letter wrong (still a valid shape)
    phone_format: float = 0.0  # carers' phones written "07700 900123" or "+44 7700 900123"
    middle_missing: float = 0.2  # middle names not held
    former_missing: float = 0.3  # a known former surname not held
    duplicate: float = 0.0  # a second record for the same child in the same source
    # the robustness conditions (synth.conditions); all off by default
    middle_initial: float = 0.0  # of held middle names: written as initials ("I I") or cut
    dob_first_of_month: float = 0.0  # day unknown: written as the 1st of the month
    dob_first_of_year: float = 0.0  # day and month unknown: written as 1 January
    superseded_nhs: float = 0.0  # of children with two NHS numbers: the old one held here
    family_first: float = 0.0  # of East Asian names: family name written first (swapped)
    name_form: float = 0.0  # origin habits: Al-/El- prefixes, -ska/-ski, calling names

    def scaled(self, factor: float, only: tuple[str, ...] | None = None) -> Noise:
        """The same profile with every garbling rate (or those in ``only``) multiplied
        (capped at 1)."""
        values = {f.name: min(1.0, getattr(self, f.name) * factor)
                  if only is None or f.name in only else getattr(self, f.name)
                  for f in dataclasses.fields(self)}
        return Noise(**values)


@dataclass(frozen=True, slots=True)
class SynthConfig:
    children: int
    seed: int
    extract_date: date = DEFAULT_EXTRACT_DATE
    chunk_children: int = 50_000
    # households and births
    births_per_household: tuple[float, ...] = (0.44, 0.38, 0.13, 0.05)
    twin_rate: float = 0.015  # share of maternities that are twins (~3 % of babies)
    triplet_rate: float = 0.0003
    similar_twin_names: float = 0.12  # of same-sex multiples: deliberately similar forenames
    similar_sibling_names: float = 0.03  # of consecutive same-sex siblings
    namesake_rate: float = 0.003  # singletons given the name and DOB of a stranger elsewhere
    same_sex_multiple: float = 0.6
    single_mother: float = 0.24
    single_father: float = 0.03
    step_father: float = 0.06
    grandparent_carer: float = 0.01
    mother_other_surname: float = 0.2  # in two-parent households
    double_barrelled: float = 0.03
    surname_change: float = 0.4  # of children in step-father households: took his surname
    moved_last_year: float = 0.1
    moved_same_council: float = 0.75
    flat_share: float = 0.15
    house_name_share: float = 0.02
    private_school: float = 0.07
    middle_name_rate: float = 0.55
    preferred_name_rate: float = 0.12  # of children with a nickname form: known by it
    # coverage per source
    pds_coverage: float = 0.99
    census_coverage: float = 0.93  # of state-school pupils actually returned
    chb_coverage: float = 0.95
    csc_rate: float = 0.05
    yot_rate: float = 0.01
    shs_rate: float = 0.01
    ctf_school_share: float = 0.05
    # the robustness conditions (synth.conditions); 0 leaves the default population untouched
    second_middle_rate: float = 0.0  # of children with a middle name: a second one too
    two_nhs_rate: float = 0.0  # of children: a second (superseded) valid NHS number
    origin_mix: float = 0.0  # blend of households towards the mixed-origin shares and pools
    looked_after_rate: float = 0.0  # of children: in care, several placements' addresses
    dedupe_only: float = 0.0  # > 0: one source only, this share of children held twice
    extra_services: float = 0.0  # coverage scale of more local services (HV, SN, EH, CX...)
    conditions: tuple[str, ...] = ()  # the named conditions applied (recorded in synth.json)
    # noise per source
    noise_pds: Noise = field(default_factory=lambda: Noise(nickname=0.002, postcode_missing=0.002,
                                                           stale_address=0.05,
                                                           former_missing=0.05))
    noise_gro: Noise = field(default_factory=lambda: Noise(
        typo_given=0.002, typo_family=0.002, nickname=0.0, transliteration=0.0, case_space=0.0,
        hyphen_part=0.0, former_surname=0.0, dob_swap=0.0, dob_day=0.0, dob_year=0.0,
        sex_missing=0.0, postcode_missing=0.005, stale_address=0.0, middle_missing=0.0))
    noise_census: Noise = field(default_factory=lambda: Noise(
        typo_given=0.008, typo_family=0.008, nickname=0.03, sex_missing=0.0,
        postcode_missing=0.02, stale_address=0.2, former_surname=0.3, middle_missing=0.3))
    noise_chb: Noise = field(default_factory=lambda: Noise(
        typo_given=0.01, typo_family=0.01, sex_missing=0.02, stale_address=0.3,
        middle_missing=0.5, former_surname=0.5, former_missing=0.7, duplicate=0.001,
        address_abbrev=0.15,
        postcode_typo=0.002, phone_format=0.2))
    noise_local: Noise = field(default_factory=lambda: Noise(
        typo_given=0.04, typo_family=0.04, nickname=0.15, transliteration=0.2, case_space=0.08,
        hyphen_part=0.5, former_surname=0.4, dob_swap=0.01, dob_day=0.015, dob_year=0.01,
        sex_missing=0.05, postcode_missing=0.08, postcode_format=0.3, stale_address=0.5,
        nhs_missing=0.6, middle_missing=0.6, former_missing=0.5, duplicate=0.002,
        nhs_of_sibling=0.0005,
        address_abbrev=0.3, postcode_typo=0.005, phone_format=0.4))
    noise_sensitive: Noise = field(default_factory=lambda: Noise(
        typo_given=0.03, typo_family=0.03, nickname=0.3, transliteration=0.2, case_space=0.1,
        hyphen_part=0.5, former_surname=0.4, dob_swap=0.01, dob_day=0.02, dob_year=0.01,
        sex_missing=0.1, postcode_missing=0.15, postcode_format=0.3, stale_address=0.4,
        nhs_missing=0.5, middle_missing=0.8, former_missing=0.7, duplicate=0.002,
        nhs_of_sibling=0.0005,
        address_abbrev=0.3, postcode_typo=0.01, phone_format=0.4))
    noise_ctf: Noise = field(default_factory=lambda: Noise(
        typo_given=0.004, typo_family=0.004, nickname=0.02, postcode_missing=0.01,
        stale_address=0.1, middle_missing=0.1))


def tunable_rates() -> dict[str, float]:
    """The population-level rates a caller may override (``--rate NAME=VALUE``)."""
    probe = SynthConfig(children=1, seed=0)
    return {f.name: getattr(probe, f.name) for f in dataclasses.fields(SynthConfig)
            if isinstance(getattr(probe, f.name), float)}


def with_rates(cfg: SynthConfig, overrides: dict[str, float]) -> SynthConfig:
    """``cfg`` with some rates replaced; an unknown name or a value outside 0..1 is refused."""
    known = tunable_rates()
    for name, value in overrides.items():
        if name not in known:
            raise ValidationFailed(f"unknown rate {name!r}; known: {', '.join(sorted(known))}")
        if not 0.0 <= value <= 1.0:
            raise ValidationFailed(f"rate {name} must be between 0 and 1")
    changes: dict[str, Any] = dict(overrides)
    return dataclasses.replace(cfg, **changes)
