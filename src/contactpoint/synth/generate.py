"""Write a whole synthetic extract: every feed, its manifests, and ``truth.csv``.

The population is generated and written a chunk at a time; the small local sources and the CTF
schools are gathered across chunks and written at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from contactpoint.synth import sources
from contactpoint.synth.config import SynthConfig, tunable_rates
from contactpoint.synth.ctf import ctf_document
from contactpoint.synth.fhir import ndjson_frame
from contactpoint.synth.fingerprint import FINGERPRINT_KEY, PopulationDigest, fingerprint
from contactpoint.synth.ids import zfill
from contactpoint.synth.population import Population, generate_chunk, take
from contactpoint.synth.world import World, build_world

View = dict[str, npt.NDArray[Any]]
Progress = Callable[[int], None]

PDS_FILE = "nhs-pds.ndjson"
CENSUS_FILE = "dfe-census.csv"
CHB_FILE = "hmrc-chb.csv"
GRO_FILE = "gro-births.csv"
TRUTH_FILE = "truth.csv"
PARAMS_FILE = "synth.json"
LOCAL_KINDS = {"csc": ("LA-CSC-", "la-csc-"), "yot": ("YOT-", "yot-"), "shs": ("SHS-", "shs-")}
# the ``many_sources`` condition's services, one source per council each
EXTRA_KINDS = {"hv": ("LA-HV-", "la-hv-"), "sn": ("LA-SN-", "la-sn-"), "eh": ("LA-EH-", "la-eh-"),
               "cx": ("LA-CX-", "la-cx-"), "camhs": ("CAMHS-", "camhs-")}


def person_ids(pid: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return np.char.add("P", zfill(pid, 9))


def write_manifest(path: Path, source: str, extract_date: str, extract_type: str) -> None:
    manifest = {"source": source, "extract_date": extract_date, "extract_type": extract_type}
    Path(f"{path}.manifest.json").write_text(json.dumps(manifest) + "\n", encoding="utf-8")


def _series(name: str, values: npt.NDArray[Any]) -> pl.Series:
    n = values.shape[0]
    if values.dtype.kind == "U" and values.dtype.itemsize <= 4 and (values == "").all():
        return pl.repeat(None, n, dtype=pl.String, eager=True).alias(name)
    return pl.Series(name, values.tolist(), dtype=pl.String)


def csv_frame(view: View) -> pl.DataFrame:
    frame = pl.DataFrame([_series(c, view[c]) for c in sources.CSV_COLUMNS])
    # an absent value is an empty field, not a quoted empty string
    return frame.with_columns(pl.all().replace("", None))


@dataclass
class Writer:
    """Open output files and what is gathered until the end of the run."""

    out: Path
    extract_date: str
    extract_type: str
    handles: dict[str, IO[bytes]] = field(default_factory=dict)
    local: dict[str, list[View]] = field(default_factory=dict)
    ctf: list[View] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def _handle(self, name: str) -> tuple[IO[bytes], bool]:
        fresh = name not in self.handles
        if fresh:
            self.handles[name] = (self.out / name).open("wb")
        return self.handles[name], fresh

    def truth(self, source: str, view: View) -> None:
        n = view["_pid"].shape[0]
        if not n:
            return
        fh, fresh = self._handle(TRUTH_FILE)
        pl.DataFrame({
            "source": pl.Series(np.full(n, source), dtype=pl.String),
            "source_record_id": pl.Series(view["source_record_id"], dtype=pl.String),
            "person_id": pl.Series(person_ids(view["_pid"].astype(np.int64)), dtype=pl.String),
        }).write_csv(fh, include_header=fresh)
        self.counts[source] = self.counts.get(source, 0) + n

    def csv(self, name: str, source: str, view: View) -> None:
        fh, fresh = self._handle(name)
        csv_frame(view).write_csv(fh, include_header=fresh)
        if fresh:
            write_manifest(self.out / name, source, self.extract_date, self.extract_type)
        self.truth(source, view)

    def ndjson(self, view: View) -> None:
        fh, fresh = self._handle(PDS_FILE)
        if fresh:
            write_manifest(self.out / PDS_FILE, "NHS-PDS", self.extract_date, self.extract_type)
        if view["source_record_id"].shape[0]:
            ndjson_frame(view).write_csv(fh, include_header=False, quote_style="never")
        self.truth("NHS-PDS", view)

    def finish(self, world: World) -> None:
        for kind, (code, stem) in {**LOCAL_KINDS, **EXTRA_KINDS}.items():
            views = self.local.get(kind, [])
            if not views:
                continue
            merged = {k: np.concatenate([v[k] for v in views]) for k in views[0]}
            for la in np.unique(merged["_la"]):
                mask = merged["_la"] == la
                part = {k: v[mask] for k, v in merged.items()}
                self.csv(f"{stem}{int(la)}.csv", f"{code}{int(la)}", part)
        if self.ctf:
            self._write_ctf(world)
        self.close()

    def close(self) -> None:
        for fh in self.handles.values():
            fh.close()

    def _write_ctf(self, world: World) -> None:
        merged = {k: np.concatenate([v[k] for v in self.ctf]) for k in self.ctf[0]}
        ctf_dir = self.out / "ctf"
        ctf_dir.mkdir(exist_ok=True)
        school = merged["_school"].astype(np.int64)
        laestab = world.school_laestab
        ext = date.fromisoformat(self.extract_date)
        for s in np.unique(school):
            rows = np.flatnonzero(school == s).tolist()
            code = int(laestab[s])
            path = ctf_dir / f"{code}.xml"
            la, estab = divmod(code, 10_000)
            doc = ctf_document(merged, rows, la, estab, int(world.school_urn[s]),
                               str(world.school_name[s]), ext, bs7666=bool(s % 3))
            path.write_text(doc, encoding="utf-8")
            write_manifest(path, f"CTF-{code}", self.extract_date, self.extract_type)
            self.truth(f"CTF-{code}", {k: v[rows] for k, v in merged.items()})


def write_chunk(cfg: SynthConfig, world: World, pop: Population, chunk_index: int,
                w: Writer) -> None:
    rng = np.random.default_rng([cfg.seed, 200 + chunk_index])
    if cfg.dedupe_only > 0:  # one source only, holding some children more than once
        w.csv(CHB_FILE, "HMRC-CHB", sources.chb(pop, world, cfg, rng))
        return
    w.ndjson(sources.pds(pop, world, cfg, rng))
    w.csv(CENSUS_FILE, "DFE-CENSUS", sources.census(pop, world, cfg, rng))
    w.csv(CHB_FILE, "HMRC-CHB", sources.chb(pop, world, cfg, rng))
    w.csv(GRO_FILE, "GRO-BIRTHS", sources.gro(pop, world, cfg, rng))
    kinds = [*LOCAL_KINDS, *(EXTRA_KINDS if cfg.extra_services > 0 else ())]
    for kind in kinds:
        w.local.setdefault(kind, []).append(sources.local(pop, world, cfg, rng, kind))
    in_ctf = np.isin(pop.school, world.ctf_schools)
    if in_ctf.any():
        sub = take(pop, np.flatnonzero(in_ctf))
        w.ctf.append(sources.census(sub, world, cfg, rng, noise=cfg.noise_ctf, everyone=True))


def chunks(cfg: SynthConfig) -> list[tuple[int, int]]:
    """(first person index, size) of every chunk."""
    return [(s, min(cfg.chunk_children, cfg.children - s))
            for s in range(0, cfg.children, cfg.chunk_children)]


def iter_chunks(cfg: SynthConfig, world: World) -> Iterator[tuple[int, Population]]:
    """The population a chunk at a time, exactly as :func:`generate` draws it."""
    upn_counter: dict[int, int] = {}
    first_hh = 0
    first_birth = 0
    for ci, (start, size) in enumerate(chunks(cfg)):
        pop = generate_chunk(cfg, world, ci, start, size, first_hh, first_birth, upn_counter)
        first_hh += pop.households
        first_birth += int(pop.extra["births"][0])
        yield ci, pop


def clear_previous(out: Path) -> None:
    """Remove an earlier run's feeds from ``out`` (only when it holds a ``synth.json``), so
    per-council files of a bigger earlier run never mix with this one."""
    if not (out / PARAMS_FILE).is_file():
        return
    for pattern in ("*.csv", "*.csv.manifest.json", "*.ndjson", "*.ndjson.manifest.json",
                    "ctf/*.xml", "ctf/*.xml.manifest.json", PARAMS_FILE):
        for path in out.glob(pattern):
            path.unlink()


def generate(cfg: SynthConfig, out: Path, progress: Progress | None = None) -> dict[str, int]:
    """Write the full extract into ``out``; returns the record count per source."""
    out.mkdir(parents=True, exist_ok=True)
    clear_previous(out)
    world = build_world(cfg.children, cfg.seed, cfg.ctf_school_share)
    w = Writer(out, cfg.extract_date.isoformat(), "full")
    stats: dict[str, int] = {}
    digest = PopulationDigest()
    try:
        for ci, pop in iter_chunks(cfg, world):
            digest.add(pop)
            for key, value in population_stats(pop).items():
                stats[key] = stats.get(key, 0) + value
            write_chunk(cfg, world, pop, ci, w)
            if progress:
                progress(len(pop))
        w.finish(world)
    finally:
        w.close()
    write_params(out, cfg, w.counts, {"population": stats,
                                      FINGERPRINT_KEY: fingerprint(world, digest)})
    return w.counts


def tunable_rates_of(cfg: SynthConfig) -> dict[str, float]:
    return {name: float(getattr(cfg, name)) for name in tunable_rates()}


def population_stats(pop: Population) -> dict[str, int]:
    """How many of each hard case a chunk holds (written to ``synth.json``)."""
    return {
        "children": len(pop),
        "households": int(np.unique(pop.hh).size),
        "twin_pairs": int((pop.birth_size == 2).sum() // 2),
        "triplet_sets": int((pop.birth_size == 3).sum() // 3),
        "moved_last_year": int((pop.prev_unit >= 0).sum()),
        "surname_changed": int((pop.former_family != "").sum()),
        "double_barrelled": int((np.char.find(pop.family, "-") > 0).sum()),
        "preferred_names": int((pop.preferred != "").sum()),
        "at_state_school": int((pop.school >= 0).sum()),
    }


def write_params(out: Path, cfg: SynthConfig, counts: dict[str, int],
                 extra: dict[str, object] | None = None) -> None:
    defaults = tunable_rates()
    overrides = {k: v for k, v in tunable_rates_of(cfg).items() if v != defaults[k]}
    params: dict[str, object] = {
        "children": cfg.children, "seed": cfg.seed, "rates": overrides,
        "extract_date": cfg.extract_date.isoformat(), "chunk_children": cfg.chunk_children,
        "records": dict(sorted(counts.items())), **(extra or {}),
        **({"conditions": list(cfg.conditions)} if cfg.conditions else {}),
    }
    (out / PARAMS_FILE).write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
