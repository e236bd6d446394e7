"""Checks on a linked database against the synthetic truth (``benchmarks/end_to_end.sh``).

    .venv/bin/python benchmarks/linked_checks.py DATABASE_URL feeds/truth.csv [delta/truth.csv]

* twin/triplet pairs merged: pairs of persons born together (same modal date of birth, family
  name and postcode in the truth, as ``linkage_data.twin_pairs``) that share a child;
* with a delta's truth: genuinely new children of the delta (persons not in the base truth)
  whose child also holds another person's record (targets.md: <= 0.1 %).
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))

from linkage_data import twin_pairs


def _records(url: str) -> pl.DataFrame:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT s.id, s.source_code, s.source_record_id, l.child_key, s.date_of_birth, "
            "s.family_name, s.postcode FROM source_record s "
            "JOIN record_link l ON l.record_key = s.id WHERE s.record_status = 'active'")).all()
    engine.dispose()
    return pl.DataFrame(
        [tuple(r) for r in rows], orient="row", infer_schema_length=None,
        schema=["record_key", "source", "source_record_id", "child", "date_of_birth",
                "family_name", "postcode"],
    )


def main() -> None:
    url, base = sys.argv[1], Path(sys.argv[2])
    delta = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    recs = _records(url)
    truths = [pl.read_csv(base)] + ([pl.read_csv(delta)] if delta else [])
    truth = pl.concat(truths).rename({"person_id": "person"}).unique(
        subset=["source", "source_record_id"], keep="last")
    recs = recs.join(truth, on=["source", "source_record_id"])
    twins = pl.DataFrame(twin_pairs(recs, recs.select("record_key", "person")),
                         schema=["a", "b"], orient="row")
    of = recs.select("person", "child").unique()
    merged = twins.join(of.rename({"person": "a"}), on="a").join(
        of.rename({"person": "b", "child": "child_b"}), on="b"
    ).filter(pl.col("child") == pl.col("child_b")).select("a", "b").unique()
    print(f"twin/triplet pairs merged: {merged.height:,} of {twins.height:,}")
    if delta is None:
        return
    base_persons = pl.read_csv(base).select(pl.col("person_id").alias("person")).unique()
    new = pl.read_csv(delta).select(pl.col("person_id").alias("person")).unique().join(
        base_persons, on="person", how="anti")
    persons_per_child = recs.group_by("child").agg(pl.col("person").n_unique().alias("n"))
    attached = recs.join(new, on="person").join(persons_per_child, on="child").filter(
        pl.col("n") > 1)["person"].n_unique()
    print(f"new children in the delta: {new.height:,}; attached to another child: "
          f"{attached:,} ({attached / max(new.height, 1):.4%})")


if __name__ == "__main__":
    main()
