"""Linkage quality on a synthetic population (all sources, all three feed formats).

    contactpoint synth --children 100000 --seed 11 --out /tmp/syn100k
    .venv/bin/python benchmarks/bench_linkage_quality.py /tmp/syn100k [--retrain]

Prints pairwise precision/recall/F1 (every true pair counts, blocked or not), false merges and
splits, twins/triplets merged (pairs of persons born together, from the truth), the review
queue size, and timings. By default uses the shipped model (the population was never seen in
training); ``--retrain`` trains on the population itself first (as ``link --retrain`` would).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from linkage_data import synth_csv, twin_pairs

from contactpoint.matching import engine
from contactpoint.matching.metrics import pairwise_metrics


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("synth_dir", type=Path)
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--model", type=Path)
    args = parser.parse_args()
    records, truth = synth_csv(args.synth_dir)
    twins = twin_pairs(records, truth)
    with tempfile.TemporaryDirectory(prefix="cp-quality-") as tmp_s:
        tmp = Path(tmp_s)
        t = time.perf_counter()
        if args.retrain:
            model = engine.train(records, tmp / "model", workdir=tmp / "train")
            print(f"trained {model.version} in {time.perf_counter() - t:.1f} s; "
                  f"population {model.training['population']}")
        else:
            model = engine.load_model(args.model)
        t = time.perf_counter()
        result = engine.dedupe(records, model, tmp / "work")
        secs = time.perf_counter() - t
    m = pairwise_metrics(result.clusters, truth, twins)
    print(f"{args.synth_dir}: {m.records:,} records, {m.persons:,} persons, model "
          f"{model.version}{' (retrained)' if args.retrain else ' (shipped default)'}")
    print("| precision | recall | F1 | false merge pairs | false split pairs | twin pairs merged "
          "| review pairs | dedupe s |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {m.precision:.5f} | {m.recall:.5f} | {m.f1:.5f} | {m.false_merge_pairs} | "
          f"{m.false_split_pairs} | {m.twins_merged} of {m.twin_pairs} | "
          f"{result.review_pairs.height} | {secs:.1f} |")


if __name__ == "__main__":
    main()
