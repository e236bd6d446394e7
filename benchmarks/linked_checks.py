"""Checks on a linked database against the synthetic truth (``benchmarks/end_to_end.sh``).

    .venv/bin/python benchmarks/linked_checks.py DATABASE_URL feeds/truth.csv [delta/truth.csv]
        [--detail]

``--detail`` lists every record of each child that merged twins (synthetic data only: a
diagnosis aid, never run on real records).

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


def _print_merged(url: str, recs: pl.DataFrame, merged: pl.DataFrame) -> None:
    """Every record of each child holding a merged twin pair, with the fields linkage read."""
    if merged.is_empty():
        return
    children = recs.join(merged.rename({"a": "person"}), on="person").select("child").unique()
    keys = recs.join(children, on="child")
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, given_name, middle_names, family_name, date_of_birth, postcode, "
            "nhs_number, upn, sex, involvements->0->>'org_code' FROM source_record "
            "WHERE id = ANY(:ids)"),
            {"ids": keys["record_key"].to_list()}).all()
    engine.dispose()
    fields = pl.DataFrame([tuple(r) for r in rows], orient="row", infer_schema_length=None,
                          schema=["record_key", "given", "middle", "family", "dob", "postcode",
                                  "nhs", "upn", "sex", "org"])
    shown = keys.join(fields, on="record_key").select(
        "child", "person", "source", "given", "middle", "family", "dob", "postcode", "nhs",
        "upn", "sex", "org").sort("child", "person", "source")
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250):
        for (child,), group in shown.group_by(["child"], maintain_order=True):
            print(f"child {child}")
            print(group.drop("child"))


def main() -> None:
    detail = "--detail" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--detail"]
    url, base = args[0], Path(args[1])
    delta = Path(args[2]) if len(args) > 2 else None
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
    if detail:
        _print_merged(url, recs, merged)
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
