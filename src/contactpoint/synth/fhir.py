"""NHS-PDS records as FHIR R4 NDJSON: each Patient followed by its RelatedPerson resources.

The JSON is assembled column-wise with polars string expressions (a million patients in a few
seconds); every value is JSON-escaped first. ``tests/integration/test_synth_feeds.py`` parses a
sample with the ``fhir.resources`` R4B models.
"""

from __future__ import annotations

from typing import Any

import numpy.typing as npt
import polars as pl

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
SOURCE_SYSTEM = "https://contactpoint.example/Id/NHS-PDS"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
RELATIONSHIP_CODE = {
    "mother": "MTH", "father": "FTH", "step-father": "STPFTH", "step-mother": "STPMTH",
    "grandmother": "GRMTH", "grandfather": "GRFTH", "parent": "PRN", "guardian": "GUARD",
}
# the v3 RoleCode display for each relationship we write
ROLE_DISPLAY = {
    "mother": "mother", "father": "father", "step-father": "stepfather",
    "step-mother": "stepmother", "grandmother": "grandmother", "grandfather": "grandfather",
    "parent": "parent", "guardian": "guardian",
}
GENDER = {"M": "male", "F": "female", "U": "unknown", "": "unknown"}

View = dict[str, npt.NDArray[Any]]

_TEXT_COLUMNS = (
    "source_record_id", "given_name", "middle_names", "family_name", "former_family_name",
    "preferred_name", "date_of_birth", "sex", "address_line_1", "address_line_2",
    "address_line_3", "town", "postcode", "nhs_number", "parent_1_name",
    "parent_1_relationship", "parent_1_phone", "parent_2_name", "parent_2_relationship",
    "parent_2_phone", "_gp_code", "_gp_name",
)


def _esc(name: str) -> pl.Expr:
    """The column as the inside of a JSON string literal."""
    return (pl.col(name).str.replace_all("\\", "\\\\", literal=True)
            .str.replace_all('"', '\\"', literal=True)
            .str.replace_all("\n", "\\n", literal=True)
            .str.replace_all("\t", "\\t", literal=True))


def _q(name: str) -> pl.Expr:
    return pl.concat_str([pl.lit('"'), pl.col(name), pl.lit('"')])


def _opt(condition: pl.Expr, *parts: pl.Expr | str) -> pl.Expr:
    """``parts`` joined when ``condition`` holds, else the empty string."""
    pieces = [pl.lit(p) if isinstance(p, str) else p for p in parts]
    return pl.when(condition).then(pl.concat_str(pieces)).otherwise(pl.lit(""))


def _nonempty(name: str) -> pl.Expr:
    return pl.col(name) != ""


def _patient() -> pl.Expr:
    lines = pl.concat_list([_q("address_line_1"), _q("address_line_2"), _q("address_line_3")])
    line_json = lines.list.eval(pl.element().filter(pl.element() != '""')).list.join(",")
    given = pl.concat_str([
        _q("given_name"),
        _opt(_nonempty("middle_names"), ',"',
             pl.col("middle_names").str.replace_all(" ", '","', literal=True), '"'),
    ])
    return pl.concat_str([
        pl.lit('{"resourceType":"Patient","id":'), _q("source_record_id"),
        pl.lit(',"meta":{"source":"NHS-PDS"},"identifier":['),
        _opt(_nonempty("nhs_number"), f'{{"system":"{NHS_SYSTEM}","value":',
             _q("nhs_number"), "},"),
        pl.lit(f'{{"system":"{SOURCE_SYSTEM}","value":'), _q("source_record_id"),
        pl.lit('}],"name":[{"use":"official","family":'), _q("family_name"),
        pl.lit(',"given":['), given, pl.lit("]}"),
        _opt(_nonempty("preferred_name"), ',{"use":"usual","family":', _q("family_name"),
             ',"given":[', _q("preferred_name"), "]}"),
        _opt(_nonempty("former_family_name"), ',{"use":"old","family":',
             _q("former_family_name"), ',"given":[', _q("given_name"), "]}"),
        pl.lit('],"gender":"'), pl.col("_gender"), pl.lit('","birthDate":'),
        _q("date_of_birth"), pl.lit(',"address":[{"use":"home","line":['), line_json,
        pl.lit('],"city":'), _q("town"),
        _opt(_nonempty("postcode"), ',"postalCode":', _q("postcode")),
        pl.lit(f'}}],"generalPractitioner":[{{"identifier":{{"system":"{ODS_SYSTEM}",'
               '"value":'), _q("_gp_code"), pl.lit('},"display":'), _q("_gp_name"),
        pl.lit("}]}"),
    ])


def _related(k: int) -> pl.Expr:
    name = f"parent_{k}_name"
    parts = pl.col(name).str.splitn(" ", 2)
    return pl.when(_nonempty(name)).then(pl.concat_str([
        pl.lit('{"resourceType":"RelatedPerson","id":"'), pl.col("source_record_id"),
        pl.lit(f'-rp{k}","meta":{{"source":"NHS-PDS"}},"patient":{{"reference":"Patient/'),
        pl.col("source_record_id"),
        pl.lit(f'"}},"relationship":[{{"coding":[{{"system":"{ROLE_SYSTEM}","code":"'),
        pl.col(f"_rel{k}"), pl.lit('","display":"'), pl.col(f"_disp{k}"),
        pl.lit('"}],"text":'), _q(f"parent_{k}_relationship"),
        pl.lit('}],"name":[{"text":'), _q(name), pl.lit(',"family":"'),
        parts.struct.field("field_1").fill_null(""), pl.lit('","given":["'),
        parts.struct.field("field_0"), pl.lit('"]}]'),
        _opt(_nonempty(f"parent_{k}_phone"), ',"telecom":[{"system":"phone","value":',
             _q(f"parent_{k}_phone"), ',"use":"mobile"}]'),
        pl.lit("}"),
    ])).otherwise(None)


def ndjson_frame(v: View) -> pl.DataFrame:
    """One row per Patient: its NDJSON line and its RelatedPerson lines, newline-separated.

    Written with ``write_csv(quote_style="never", include_header=False)`` the frame is the
    NDJSON file itself.
    """
    frame = pl.DataFrame({c: pl.Series(c, v[c], dtype=pl.String) for c in _TEXT_COLUMNS})
    frame = frame.with_columns(
        [_esc(c).alias(c) for c in _TEXT_COLUMNS],
        _gender=pl.col("sex").replace_strict(GENDER, default="unknown"),
        _rel1=pl.col("parent_1_relationship").replace_strict(RELATIONSHIP_CODE, default="PRN"),
        _rel2=pl.col("parent_2_relationship").replace_strict(RELATIONSHIP_CODE, default="PRN"),
        _disp1=pl.col("parent_1_relationship").replace_strict(ROLE_DISPLAY, default="parent"),
        _disp2=pl.col("parent_2_relationship").replace_strict(ROLE_DISPLAY, default="parent"),
    )
    return frame.select(pl.concat_str([_patient(), _related(1), _related(2)],
                                      separator="\n", ignore_nulls=True).alias("line"))

