"""FEBRL4 through the feed contract, three systems side by side in one run.

    .venv/bin/python benchmarks/bench_febrl.py

1. Contactpoint's engine (``contactpoint.matching.engine``): train on the data, dedupe.
2. A default Splink 5 set-up (``default_splink.py``, shared with ``bench_robustness.py``) on
   the same mapped columns (NameComparison with term
   frequencies on both names, DateOfBirthComparison, exact/JW on the address columns, u from
   random sampling, EM on two blocks, p >= 0.5, connected components).
3. recordlinkage 0.16's unsupervised ECM classifier on the union of the same blocks.

Every figure is pairwise precision/recall/F1 over *all* true pairs (unblocked pairs count as
missed), computed exactly by ``contactpoint.matching.metrics``.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))

from default_splink import components, run_splink_default
from linkage_data import febrl4

from contactpoint.matching import engine
from contactpoint.matching.metrics import Metrics, pairwise_metrics

BLOCKS = ("given_name", "family_name", "date_of_birth", "address_line_3")


def run_engine(records: pl.DataFrame, truth: pl.DataFrame, tmp: Path) -> tuple[Metrics, float]:
    t = time.perf_counter()
    model = engine.train(records, tmp / "model", workdir=tmp / "train")
    result = engine.dedupe(records, model, tmp / "work")
    return pairwise_metrics(result.clusters, truth), time.perf_counter() - t


def run_recordlinkage_ecm(records: pl.DataFrame, truth: pl.DataFrame) -> tuple[Metrics, float]:
    import recordlinkage as rl

    t = time.perf_counter()
    pdf = records.with_columns(pl.col("date_of_birth").dt.strftime("%Y%m%d")).to_pandas()
    pdf = pdf.set_index("record_key")
    a = pdf[pdf["source_code"] == "FEBRL-A"]
    b = pdf[pdf["source_code"] == "FEBRL-B"]
    indexer = rl.Index()
    for col in BLOCKS:
        indexer.block(col)
    candidates = indexer.index(a, b)
    compare = rl.Compare()
    compare.exact("given_name", "given_name", label="given_name")
    compare.exact("family_name", "family_name", label="family_name")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("address_line_1", "address_line_1", label="address_line_1")
    compare.exact("address_line_2", "address_line_2", label="address_line_2")
    compare.exact("town", "town", label="town")
    compare.exact("address_line_3", "address_line_3", label="address_line_3")
    features = compare.compute(candidates, a, b)
    ecm = rl.ECMClassifier(binarize=0.5)
    matches = ecm.fit_predict(features)
    pairs = [(int(x), int(y)) for x, y in matches]
    clusters = components(records["record_key"].to_list(), pairs)
    return pairwise_metrics(clusters, truth), time.perf_counter() - t


def main() -> None:
    logging.getLogger("splink").setLevel(logging.ERROR)
    records, truth = febrl4()
    rows = []
    with tempfile.TemporaryDirectory(prefix="cp-febrl-") as tmp_s:
        tmp = Path(tmp_s)
        for name, fn in (
            ("Contactpoint engine (Splink 5 + vetoes + constrained clusters)",
             lambda: run_engine(records, truth, tmp)),
            ("default Splink 5 set-up, p >= 0.5",
             lambda: run_splink_default(records, truth, tmp,
                                        link_sources=("FEBRL-A", "FEBRL-B"))),
            ("recordlinkage 0.16 ECM, same blocks", lambda: run_recordlinkage_ecm(records, truth)),
        ):
            m, secs = fn()
            rows.append((name, m, secs))
    print(f"FEBRL4 A+B mapped onto the feed columns: {records.height} records, "
          f"{truth['person'].n_unique()} persons, {rows[0][1].true_pairs} true pairs\n")
    print("| system | precision | recall | F1 | false merges | false splits | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, m, secs in rows:
        print(f"| {name} | {m.precision:.4f} | {m.recall:.4f} | {m.f1:.4f} | "
              f"{m.false_merge_pairs} | {m.false_split_pairs} | {secs:.1f} |")


if __name__ == "__main__":
    main()
