"""FEBRL4 written as two feeds of the CSV contract (FEBRL-A, FEBRL-B), with truth.csv.

    .venv/bin/python benchmarks/febrl_feeds.py OUT_DIR
    contactpoint import OUT_DIR --reject-limit 0.2 --max-age 150
    contactpoint link          # no flags: the first run checks the shipped model's fit
    contactpoint evaluate --truth OUT_DIR/truth.csv

FEBRL's adults are mapped as ``linkage_data.febrl4`` maps them (postcode as address text,
suburb as town, soc_sec_id and state dropped). Rows with no given name, family name or date of
birth are written as they are: the importer rejects them (about 8 %, hence the reject limit),
and truth.csv lists only the rows it can load.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import polars as pl
from linkage_data import febrl4

COLUMNS = ("source_record_id", "given_name", "family_name", "date_of_birth",
           "address_line_1", "address_line_2", "address_line_3", "town")


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    records, truth = febrl4()
    frame = records.join(truth, on="record_key").with_columns(
        pl.col("record_key").cast(pl.Utf8).alias("source_record_id"),
        pl.col("date_of_birth").dt.strftime("%Y-%m-%d"),
    )
    loadable = []
    for source, part in frame.group_by("source_code"):
        name = str(source[0]).lower()
        with (out / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            for row in part.select(COLUMNS).rows():
                writer.writerow(["" if v is None else v for v in row])
        (out / f"{name}.csv.manifest.json").write_text(json.dumps(
            {"source": source[0], "extract_date": "2026-11-01", "extract_type": "full"}))
        ok = part.filter(pl.col("given_name").is_not_null() & pl.col("family_name").is_not_null()
                         & pl.col("date_of_birth").is_not_null())
        loadable.append(ok.select(pl.col("source_code").alias("source"), "source_record_id",
                                  pl.col("person").alias("person_id")))
    pl.concat(loadable).write_csv(out / "truth.csv")
    print(f"wrote FEBRL-A and FEBRL-B feeds and truth.csv to {out}")


if __name__ == "__main__":
    main()
