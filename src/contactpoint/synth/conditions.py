"""Named robustness conditions: populations the generator does not default to.

Each condition turns on knobs of :mod:`synth.config` (all off by default) to make a world unlike
the default one, the way an independently generated population or a real feed differs:

* ``initials``: sources write middle names as initials (``I``, ``I I``) or cut them, each at
  its own rate; some children carry two middle names;
* ``within_source_duplicates``: a source holds two records of one child, without a second
  identifier (GRO re-registration, duplicate benefit claim, local systems) or with one (a
  second UPN in the census after a school move, a second NHS number in PDS);
* ``two_nhs_numbers``: a child carries two valid NHS numbers, the superseded one in some feeds;
* ``name_origins``: more South Asian, Arabic, Polish, Chinese and Nigerian names (pools widened
  from Faker's locales), with their transliterations and ordering habits;
* ``typos_x3``: every typo and garbling rate tripled;
* ``missing_dob_parts``: unknown day (or day and month) written as the 1st (or 1 January) in
  some sources; postcodes missing from 20-30 % of records;
* ``address_churn``: looked-after children with several placements' addresses (and carers),
  stale addresses everywhere;
* ``dedupe_only``: one source only (child benefit), a share of its children held twice;
* ``many_sources``: more local services per council (health visiting, school nursing, early
  help, Connexions, CAMHS), about 3.4 records per child.

Every condition keeps ``truth.csv`` exact and every record valid against the feed contract.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from contactpoint.errors import ValidationFailed
from contactpoint.synth.config import Noise, SynthConfig

NOISE_FIELDS = ("noise_pds", "noise_gro", "noise_census", "noise_chb", "noise_local",
                "noise_sensitive", "noise_ctf")
# the typo and garbling rates ``typos_x3`` triples (not coverage, missing fields or staleness)
GARBLING = ("typo_given", "typo_family", "nickname", "transliteration", "case_space",
            "hyphen_part", "dob_swap", "dob_day", "dob_year", "postcode_format",
            "address_abbrev", "postcode_typo", "phone_format")


def _per_source(cfg: SynthConfig, **changes: tuple[float, ...]) -> SynthConfig:
    """Set Noise fields per source; each value lists one rate per :data:`NOISE_FIELDS` entry
    (pds, gro, census, chb, local, sensitive, ctf)."""
    replaced: dict[str, Any] = {}
    for i, name in enumerate(NOISE_FIELDS):
        noise: Noise = getattr(cfg, name)
        replaced[name] = dataclasses.replace(
            noise, **{f: rates[i] for f, rates in changes.items()})
    return dataclasses.replace(cfg, **replaced)


def _raise(cfg: SynthConfig, field: str, floor: tuple[float, ...]) -> SynthConfig:
    """Each source's ``field`` at least the given rate."""
    return _per_source(cfg, **{field: tuple(
        max(getattr(getattr(cfg, n), field), floor[i]) for i, n in enumerate(NOISE_FIELDS))})


def initials(cfg: SynthConfig) -> SynthConfig:
    cfg = dataclasses.replace(cfg, second_middle_rate=0.3)
    cfg = _per_source(cfg, middle_initial=(0.05, 0.0, 0.2, 0.35, 0.4, 0.3, 0.15))
    return _raise(cfg, "middle_missing", (0.1, 0.05, 0.35, 0.5, 0.6, 0.8, 0.15))


def within_source_duplicates(cfg: SynthConfig) -> SynthConfig:
    return _raise(cfg, "duplicate", (0.01, 0.01, 0.015, 0.01, 0.02, 0.02, 0.0))


def two_nhs_numbers(cfg: SynthConfig) -> SynthConfig:
    # councils that record NHS numbers more often than the default, so that the two numbers
    # meet in more than one source
    cfg = dataclasses.replace(cfg, two_nhs_rate=0.1)
    return _per_source(cfg, superseded_nhs=(0.3, 1.0, 0.0, 0.0, 0.6, 0.6, 0.0),
                       nhs_missing=(0.0, 0.0, 0.0, 0.0, 0.3, 0.3, 0.0))


def name_origins(cfg: SynthConfig) -> SynthConfig:
    cfg = dataclasses.replace(cfg, origin_mix=1.0)
    cfg = _per_source(cfg, name_form=(0.03, 0.0, 0.1, 0.15, 0.25, 0.3, 0.1),
                      family_first=(0.02, 0.0, 0.05, 0.1, 0.2, 0.25, 0.05))
    return _raise(cfg, "transliteration", (0.02, 0.0, 0.1, 0.1, 0.25, 0.25, 0.05))


def typos_x3(cfg: SynthConfig) -> SynthConfig:
    return dataclasses.replace(cfg, **{n: getattr(cfg, n).scaled(3.0, GARBLING)
                                       for n in NOISE_FIELDS})


def missing_dob_parts(cfg: SynthConfig) -> SynthConfig:
    cfg = _per_source(cfg, dob_first_of_month=(0.0, 0.0, 0.0, 0.01, 0.03, 0.05, 0.0),
                      dob_first_of_year=(0.0, 0.0, 0.0, 0.0, 0.01, 0.02, 0.0))
    return _raise(cfg, "postcode_missing", (0.2, 0.2, 0.25, 0.25, 0.3, 0.3, 0.2))


def address_churn(cfg: SynthConfig) -> SynthConfig:
    cfg = dataclasses.replace(cfg, looked_after_rate=0.05, moved_last_year=0.3)
    return _raise(cfg, "stale_address", (0.2, 0.1, 0.4, 0.5, 0.6, 0.6, 0.3))


def dedupe_only(cfg: SynthConfig) -> SynthConfig:
    return dataclasses.replace(cfg, dedupe_only=0.3)


def many_sources(cfg: SynthConfig) -> SynthConfig:
    return dataclasses.replace(cfg, extra_services=1.0)


CONDITIONS: dict[str, Callable[[SynthConfig], SynthConfig]] = {
    "initials": initials,
    "within_source_duplicates": within_source_duplicates,
    "two_nhs_numbers": two_nhs_numbers,
    "name_origins": name_origins,
    "typos_x3": typos_x3,
    "missing_dob_parts": missing_dob_parts,
    "address_churn": address_churn,
    "dedupe_only": dedupe_only,
    "many_sources": many_sources,
}
# ``all``: every condition that can be combined (``dedupe_only`` has a single source)
ALL = tuple(n for n in CONDITIONS if n != "dedupe_only")


def expand(names: Iterable[str]) -> tuple[str, ...]:
    """Condition names in order, ``all`` expanded; an unknown name is refused."""
    out: list[str] = []
    for name in names:
        if name == "all":
            out.extend(n for n in ALL if n not in out)
        elif name in CONDITIONS:
            if name not in out:
                out.append(name)
        else:
            raise ValidationFailed(
                f"unknown condition {name!r}; known: {', '.join([*CONDITIONS, 'all'])}")
    return tuple(out)


def with_conditions(cfg: SynthConfig, names: Iterable[str]) -> SynthConfig:
    """``cfg`` with the named conditions applied (in the order of :data:`CONDITIONS`)."""
    chosen = expand(names)
    for name in CONDITIONS:
        if name in chosen:
            cfg = CONDITIONS[name](cfg)
    return dataclasses.replace(cfg, conditions=tuple(n for n in CONDITIONS if n in chosen))
