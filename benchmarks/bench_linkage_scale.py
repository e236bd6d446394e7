"""Linkage engine at scale: dedupe from scratch, then a daily delta with match_new.

    contactpoint synth --children 1000000 --seed 5 --out /tmp/syn1m
    contactpoint synth --children 1000000 --seed 5 --out /tmp/syn1m-delta \\
        --delta-of /tmp/syn1m --delta-records 10000
    .venv/bin/python benchmarks/bench_linkage_scale.py /tmp/syn1m [/tmp/syn1m-delta] \\
        [--model PATH] [--workdir DIR]

Prints records, the engine's own timings (prepare, predict, cluster), wall time and peak RSS of
the dedupe (reading the feed files is not counted: that is the importer's job), pairwise
quality against ``truth.csv``, and for the delta: the match_new time (engine part only), the
decisions, and how many genuinely new children (persons not in the base truth) were attached
to an existing child. Uses the shipped default model unless ``--model`` is given.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))

from linkage_data import synth_csv, twin_pairs

from contactpoint.matching import engine
from contactpoint.matching.frame import Existing
from contactpoint.matching.metrics import pairwise_metrics


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base", type=Path)
    parser.add_argument("delta", type=Path, nargs="?")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--workdir", type=Path, default=Path("var/linkage/bench"))
    args = parser.parse_args()
    model = engine.load_model(args.model)
    (args.workdir / "delta" / "prepared-existing.parquet").unlink(missing_ok=True)
    t = time.perf_counter()
    records, truth = synth_csv(args.base)
    print(f"read {records.height:,} records from {args.base} in {time.perf_counter() - t:.1f} s "
          f"(not counted); model {model.version}")
    rss_before = peak_rss_gib()
    t = time.perf_counter()
    result = engine.dedupe(records, model, args.workdir / "dedupe")
    wall = time.perf_counter() - t
    print(f"dedupe: {wall:.1f} s wall, peak RSS {peak_rss_gib():.2f} GiB "
          f"(before: {rss_before:.2f} GiB); stats {result.stats}")
    m = pairwise_metrics(result.clusters, truth, twin_pairs(records, truth))
    print(f"quality: P {m.precision:.5f} R {m.recall:.5f} F1 {m.f1:.5f} "
          f"false merges {m.false_merge_pairs} false splits {m.false_split_pairs} "
          f"twins merged {m.twins_merged}/{m.twin_pairs}")
    if args.delta is None:
        return
    delta, delta_truth = synth_csv(args.delta)
    # A changed record replaces the base record with the same source key.
    changed = truth.join(
        delta_truth.select("source_code", "source_record_id"),
        on=["source_code", "source_record_id"],
        how="semi",
    )
    existing = (
        records.join(result.clusters, on="record_key")
        .join(changed.select("record_key"), on="record_key", how="anti")
        .rename({"cluster_key": "child_key"})
        .with_columns(pl.lit(False).alias("shielded"))
    )
    offset = int(records["record_key"].max() or 0)
    new = delta.with_columns(pl.col("record_key") + offset)
    new_truth = delta_truth.select(
        pl.col("record_key") + offset, pl.col("person")
    )
    # twice: cold (no per-record cache in the workdir yet), then warm (yesterday's cache,
    # the daily case: the existing records were normalised on an earlier run)
    for label in ("cold", "warm"):
        t = time.perf_counter()
        out = engine.match_new(Existing.whole(existing), new, model, args.workdir / "delta")
        secs = time.perf_counter() - t
        print(f"delta ({label}): {new.height:,} records against {existing.height:,} in "
              f"{secs:.1f} s (engine part), peak RSS {peak_rss_gib():.2f} GiB; decisions "
              f"{dict(out.group_by('decision').len().iter_rows())}")
    known = set(truth["person"].to_list())
    judged = out.join(new_truth, on="record_key")
    fresh = judged.filter(~pl.col("person").is_in(list(known)))
    attached = fresh.filter(pl.col("decision") == "link")
    old = judged.filter(pl.col("person").is_in(list(known)))
    # a link to an existing child is right when that child's records belong to the person
    child_person = existing.join(truth.select("record_key", "person"), on="record_key").group_by(
        "child_key"
    ).agg(pl.col("person").mode().first().alias("child_person"))
    right = old.filter(pl.col("decision") == "link").join(
        child_person, on="child_key"
    ).filter(pl.col("person") == pl.col("child_person"))
    print(f"genuinely new children's records: {fresh.height:,}; attached to an existing "
          f"child: {attached.height} ({attached.height / max(fresh.height, 1):.3%}); "
          f"existing children's records linked to the right child: {right.height:,} of "
          f"{old.height:,}")


if __name__ == "__main__":
    main()
