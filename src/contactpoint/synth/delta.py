"""A daily delta against a base extract: new births and changed records of existing children.

The base directory's ``synth.json`` names the population (children, seed, extract date, chunk
size, rate overrides) and fingerprints it (``synth.fingerprint``); the population is redrawn from
those parameters alone (the delta's own seed only drives the delta's draws) and checked against
the fingerprint, so a base written by another generator version is refused rather than answered
with records of other children under its keys. The person ids in the delta's ``truth.csv`` agree
with the base truth; new children get person indices after the base population's. The delta
holds:

* new births (GRO-BIRTHS and NHS-PDS, some PDS ones still "Baby <surname>"), about half of
  them into existing households (siblings of existing children: same surname, address and
  carers), some of them twins or triplets;
* changed records of existing children (NHS-PDS and HMRC-CHB under the same source key): house
  moves and surname changes (the old surname kept as the former one); the forename, date of
  birth and carers stay those of the base child, garbled afresh at the source's noise rates.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from contactpoint.errors import ValidationFailed
from contactpoint.synth import sources
from contactpoint.synth.conditions import with_conditions
from contactpoint.synth.config import SynthConfig, with_rates
from contactpoint.synth.fingerprint import (
    FINGERPRINT_KEY,
    PopulationDigest,
    check,
    stored,
    world_digest,
)
from contactpoint.synth.generate import (
    CHB_FILE,
    GRO_FILE,
    PARAMS_FILE,
    Writer,
    clear_previous,
    iter_chunks,
    write_params,
)
from contactpoint.synth.ids import nhs_numbers
from contactpoint.synth.pools import name_pools
from contactpoint.synth.population import (
    Population,
    concat,
    draw_forenames,
    draw_households,
    take,
)
from contactpoint.synth.world import World, build_world

IntArray = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class DeltaOptions:
    records: int = 10_000
    seed: int = 1
    extract_date: date | None = None  # default: the day after the base extract
    sibling_share: float = 0.45  # of new births: into an existing household
    twin_rate: float = 0.03  # of new maternities
    move_share: float = 0.6  # of changed children: moved house (the rest changed name)


def _base_config(base: Path) -> tuple[SynthConfig, dict[str, Any]]:
    """The base run's configuration, exactly as its ``synth.json`` records it."""
    path = base / PARAMS_FILE
    if not path.is_file():
        raise ValidationFailed(f"{base} has no {PARAMS_FILE}: not a synth output directory")
    try:
        params = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"{path} is not valid JSON") from exc
    if not isinstance(params, dict):
        raise ValidationFailed(f"{path} is not a synth parameters file")
    if "delta_of" in params:
        raise ValidationFailed(
            f"{base} is itself a delta (of {params['delta_of']}); give the full base extract")
    stored(params, str(base))
    try:
        cfg = SynthConfig(children=int(params["children"]), seed=int(params["seed"]),
                          extract_date=date.fromisoformat(str(params["extract_date"])),
                          chunk_children=int(params["chunk_children"]))
        rates = {str(k): float(v) for k, v in dict(params.get("rates") or {}).items()}
        conditions = [str(c) for c in params.get("conditions") or []]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed(f"{path} lacks or garbles the base parameters: {exc}") from exc
    return with_rates(with_conditions(cfg, conditions), rates), params


def _existing(cfg: SynthConfig, world: World, wanted: IntArray,
              params: dict[str, Any], base: Path) -> Population:
    """The base children with the given person indices (sorted), redrawn chunk by chunk; the
    whole redrawn population must hash to the base's fingerprint."""
    parts: list[Population] = []
    digest = PopulationDigest()
    for _, pop in iter_chunks(cfg, world):
        digest.add(pop)
        sel = np.flatnonzero(np.isin(pop.pid, wanted))
        if sel.size:
            parts.append(take(pop, sel))
    check(params[FINGERPRINT_KEY], "population", digest.hexdigest(), str(base))
    return concat(parts)


def _newborns(cfg: SynthConfig, world: World, rng: np.random.Generator, n: int,
              first_pid: int, anchors: Population, day: np.datetime64,
              opts: DeltaOptions) -> Population:
    """``n`` new children; the first ``len(anchors)`` births join the anchors' households."""
    names = name_pools()
    n_births = n  # upper bound: trimmed to n children after multiples are expanded
    u = rng.random(n_births)
    size = np.where(u < opts.twin_rate * 0.05, 3, np.where(u < opts.twin_rate, 2, 1))
    birth = np.repeat(np.arange(n_births), size)[:n]
    fresh_h = int(n_births)
    hhd = draw_households(cfg, world, rng, fresh_h, names)
    k = len(anchors)
    # household-level attributes per birth: anchors' for the first k births
    def per_birth(field: str, anchor_values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.concatenate([anchor_values[:k], np.asarray(hhd[field])[k:]])

    fam = per_birth("family", anchors.family)
    council = per_birth("council", anchors.council)
    unit = per_birth("unit", anchors.unit)
    flat = per_birth("flat", anchors.flat)
    number = per_birth("number", anchors.number)
    gp = per_birth("gp", anchors.gp)
    origin = per_birth("origin", anchors.origin)
    parents = {f: per_birth(f, getattr(anchors, f)) for f in (
        "p1_name", "p1_rel", "p1_phone", "p1_pr", "p2_name", "p2_rel", "p2_phone", "p2_pr")}
    hh = np.concatenate([anchors.hh[:k], -1 - np.arange(k, n_births, dtype=np.int64)])
    age = rng.integers(0, 42, n_births)
    dob = day - age[birth].astype("timedelta64[D]")
    org = origin[birth].astype(np.int64)
    sex = np.where(rng.random(n) < 0.512, "M", "F")
    given = draw_forenames(rng, org, sex, names).astype(object)
    # a twin never shares a forename with its co-twin or the anchor sibling
    for i in range(1, n):
        if birth[i] == birth[i - 1] and given[i] == given[i - 1]:
            given[i] = draw_forenames(rng, org[i:i + 1], sex[i:i + 1], names)[0]
    if k:
        ai = birth < k
        clash = ai & (given == anchors.given[np.minimum(birth, k - 1)])
        given[clash] = draw_forenames(rng, org[clash], sex[clash], names)
    given = given.astype(str)
    pid = np.arange(first_pid, first_pid + n, dtype=np.int64)

    empty = np.full(n, "", dtype="<U1")
    return Population(
        pid=pid, hh=hh[birth], origin=org, birth=birth.astype(np.int64),
        birth_size=np.bincount(birth)[birth].astype(np.int64), sex=sex, given=given,
        middle=np.where(rng.random(n) < 0.5, draw_forenames(rng, org, sex, names), ""),
        family=fam[birth], former_family=empty, preferred=empty, dob=dob,
        nhs=nhs_numbers(pid, cfg.seed), upn=empty, council=council[birth], unit=unit[birth],
        flat=flat[birth], number=number[birth], prev_unit=np.full(n, -1, dtype=np.int64),
        prev_flat=empty, prev_number=np.zeros(n, dtype=np.int64),
        school=np.full(n, -1, dtype=np.int64), gp=gp[birth],
        p1_name=parents["p1_name"][birth], p1_rel=parents["p1_rel"][birth],
        p1_phone=parents["p1_phone"][birth], p1_pr=parents["p1_pr"][birth],
        p2_name=parents["p2_name"][birth], p2_rel=parents["p2_rel"][birth],
        p2_phone=parents["p2_phone"][birth], p2_pr=parents["p2_pr"][birth],
    )


def _changed(pop: Population, world: World, rng: np.random.Generator,
             opts: DeltaOptions) -> Population:
    """The same children after a move or a surname change."""
    n = len(pop)
    moved = rng.random(n) < opts.move_share
    new_unit = np.empty(n, dtype=np.int64)
    for i in range(n):
        units = world.council_units[int(pop.council[i])]
        new_unit[i] = units[int(rng.integers(0, units.size))]
    surnames = name_pools().surname
    new_family = pop.family.astype(object)
    former = pop.former_family.astype(object)
    renamed = ~moved
    for j in np.flatnonzero(renamed):
        new_family[j] = str(surnames[int(pop.origin[j])].sample(rng, 1)[0])
        former[j] = pop.family[j]
    return dataclasses.replace(
        pop,
        unit=np.where(moved, new_unit, pop.unit),
        prev_unit=np.where(moved, pop.unit, pop.prev_unit),
        prev_flat=np.where(moved, pop.flat, pop.prev_flat),
        prev_number=np.where(moved, pop.number, pop.prev_number),
        flat=np.where(moved, "", pop.flat),
        number=np.where(moved, rng.integers(1, 120, n), pop.number),
        family=new_family.astype(str), former_family=former.astype(str),
    )


def write_delta(base: Path, out: Path, opts: DeltaOptions) -> dict[str, int]:
    """Write a delta extract into ``out``; returns the record count per source."""
    cfg, params = _base_config(base)
    if cfg.dedupe_only > 0:
        raise ValidationFailed(
            f"{base} is a dedupe-only extract (one source): it has no daily delta")
    day = opts.extract_date or cfg.extract_date + timedelta(days=1)
    delta_cfg = dataclasses.replace(cfg, extract_date=day)
    world = build_world(cfg.children, cfg.seed, cfg.ctf_school_share)
    check(params[FINGERPRINT_KEY], "world", world_digest(world), str(base))
    rng = np.random.default_rng([cfg.seed, 9_000, opts.seed])
    n_new = max(1, opts.records // 4)  # each new child: a GRO and a PDS record
    # a changed child yields ~1.8 records (PDS, and CHB when under 16): draw a few more
    # children than needed and trim the CHB records to land on exactly ``records``
    n_changed = max(1, min(cfg.children, int((opts.records - 2 * n_new) / 1.6)))
    n_anchor = min(cfg.children, int(n_new * opts.sibling_share))
    picked = rng.choice(cfg.children, n_changed + n_anchor, replace=False)
    existing = _existing(cfg, world, np.sort(picked), params, base)
    order = {int(p): i for i, p in enumerate(existing.pid)}
    anchor_rows = np.array([order[int(p)] for p in picked[n_changed:]], dtype=np.int64)
    change_rows = np.array([order[int(p)] for p in picked[:n_changed]], dtype=np.int64)
    anchors = take(existing, anchor_rows)
    changed = _changed(take(existing, np.sort(change_rows)), world, rng, opts)
    ext = np.datetime64(day, "D")
    born = _newborns(delta_cfg, world, rng, n_new, cfg.children + (opts.seed % 10) * 1_000_000,
                     anchors, ext, opts)
    out.mkdir(parents=True, exist_ok=True)
    clear_previous(out)
    w = Writer(out, day.isoformat(), "delta")
    pds = sources.pds(concat([born, changed]), world, delta_cfg, rng)
    gro = sources.gro(born, world, delta_cfg, rng)
    chb = sources.chb(changed, world, delta_cfg, rng)
    n_chb = chb["_pid"].shape[0]
    keep = max(0, min(n_chb, opts.records - pds["_pid"].shape[0] - gro["_pid"].shape[0]))
    chb = {k: v[:keep] for k, v in chb.items()}
    try:
        w.ndjson(pds)
        w.csv(GRO_FILE, "GRO-BIRTHS", gro)
        w.csv(CHB_FILE, "HMRC-CHB", chb)
    finally:
        w.close()
    write_params(out, delta_cfg, w.counts, {
        "delta_of": str(base), "base_extract_date": params["extract_date"],
        "delta_seed": opts.seed, FINGERPRINT_KEY: params[FINGERPRINT_KEY],
        "new_children": len(born), "new_in_existing_households": len(anchors),
        "new_multiples": int((born.birth_size > 1).sum()), "changed_children": len(changed),
        "first_new_person_index": int(born.pid[0]),
    })
    return w.counts
