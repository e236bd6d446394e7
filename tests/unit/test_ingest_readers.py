"""Readers and file-level checks that need no database."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from contactpoint.errors import FeedRefused, PathMissing
from contactpoint.ingest.csv_reader import CsvReader, check_header, row_mapper
from contactpoint.ingest.ctf_reader import CtfFeed
from contactpoint.ingest.discover import discover
from contactpoint.ingest.fhir_reader import FhirFeed, source_from_uri
from contactpoint.ingest.manifest import load_manifest
from contactpoint.ingest.readers import ReaderOptions, feed_format
from contactpoint.ingest.rejects import RejectSink

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"

XML_BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<CTfile><Header><SourceSchool><LEA>&lol9;</LEA></SourceSchool></Header></CTfile>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE CTfile [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<CTfile><Header><SourceSchool><LEA>&xxe;</LEA><Estab>1</Estab></SourceSchool></Header></CTfile>
"""


def test_header_checks_name_the_column() -> None:
    path = Path("feed.csv")
    with pytest.raises(FeedRefused, match=r"row 1: unknown column\(s\) 'shoe_size'"):
        check_header(path, ["source_record_id", "given_name", "family_name",
                            "date_of_birth", "shoe_size"], ignore_unknown=False)
    kept = check_header(path, ["source_record_id", "given_name", "family_name",
                               "date_of_birth", "shoe_size"], ignore_unknown=True)
    assert "shoe_size" not in kept
    with pytest.raises(FeedRefused, match="missing required column"):
        check_header(path, ["source_record_id", "given_name"], ignore_unknown=False)
    with pytest.raises(FeedRefused, match="appears twice"):
        check_header(path, ["source_record_id", "source_record_id"], ignore_unknown=False)


def test_csv_reader_handles_bom_quotes_and_newlines(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(
        "\ufeffsource_record_id,given_name,family_name,date_of_birth,address_line_1\r\n"
        'A1,Zoë,"O\'Neil, Jr",2016-01-01,"1 Long\nRoad"\r\n'.encode()
    )
    frames = list(CsvReader(path).batches())
    assert frames[0].get_column("family_name").to_list() == ["O'Neil, Jr"]
    assert frames[0].get_column("address_line_1").to_list() == ["1 Long\nRoad"]
    assert frames[0].get_column("_row").to_list() == [2]


def test_wrong_encoding_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "source_record_id,given_name,family_name,date_of_birth\nA1,Ann,Lee,2016-01-01\n"
        "A2,Zoë,Lee,2016-01-01\n".encode("latin-1")
    )
    with pytest.raises(FeedRefused, match=r"latin1.csv: line 3: not valid UTF-8"):
        list(CsvReader(path).batches())


def test_truncated_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_text("source_record_id,given_name,family_name,date_of_birth\n"
                    "A1,Ann,Lee,2016-01-01\nA2,Bo")
    reader = CsvReader(path)
    list(reader.batches())
    with pytest.raises(FeedRefused, match=r"cut.csv: row 3: the file is truncated"):
        reader.ragged_rows()


def test_a_short_row_mid_file_is_located_exactly(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("source_record_id,given_name,family_name,date_of_birth\n"
                    'A1,Ann,"Lee\nSmith",2016-01-01\nA2,Bo\nA3,Cy,Lee,2016-01-01\n')
    reader = CsvReader(path)
    frames = list(reader.batches())
    found, width = reader.ragged_rows()
    assert (found, width) == ([(3, 2)], 4)
    mapper = row_mapper([3])
    assert [mapper(r) for r in frames[0].get_column("_row").to_list()] == [2, 4]


def test_manifest_rules(tmp_path: Path) -> None:
    feed = tmp_path / "a.csv"
    with pytest.raises(FeedRefused, match=r"a.csv: no manifest"):
        load_manifest(feed, required=True)
    (tmp_path / "a.csv.manifest.json").write_text(json.dumps(
        {"source": "NHS-PDS", "extract_date": "2026-13-01", "extract_type": "full"}))
    with pytest.raises(FeedRefused, match="not a YYYY-MM-DD date"):
        load_manifest(feed, required=True)
    (tmp_path / "a.csv.manifest.json").write_text(json.dumps(
        {"source": "NHS-PDS", "extract_date": "2026-11-01", "extract_type": "weekly"}))
    with pytest.raises(FeedRefused, match="extract_type must be 'full' or 'delta'"):
        load_manifest(feed, required=True)


def test_discover_is_recursive_sorted_and_says_what_it_skips(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/z.csv", "a.csv", "truth.csv", "lonely.csv", "b/x.ndjson", "d.xml",
                 "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "c.json").write_text('{"resourceType": "Bundle", "type": "batch"}')
    (tmp_path / "synth.json").write_text('{"children": 10, "seed": 1}')
    for name in ("b/z.csv", "a.csv"):
        (tmp_path / f"{name}.manifest.json").write_text("{}")
    found = discover([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == [
        "a.csv", "b/x.ndjson", "b/z.csv", "c.json", "d.xml"]
    assert any("truth.csv" in n for n in found.notes)
    assert any("synth.json" in n and "not FHIR" in n for n in found.notes)
    assert any("lonely.csv" in n and "without a manifest" in n for n in found.notes)


def test_a_glob_skips_what_a_directory_skips(tmp_path: Path) -> None:
    for name in ("a.csv", "truth.csv", "a.csv.rejects.csv", "notes.txt", "x.ndjson"):
        (tmp_path / name).write_text("x")
    (tmp_path / "a.csv.manifest.json").write_text("{}")
    (tmp_path / "synth.json").write_text('{"children": 10, "seed": 1}')
    by_directory = discover([tmp_path])
    by_glob = discover(sorted(tmp_path.glob("*")))  # what `import DIR/*` passes
    assert by_glob.files == by_directory.files == [tmp_path / "a.csv", tmp_path / "x.ndjson"]
    for skipped in ("truth.csv", "synth.json", "a.csv.rejects.csv"):
        assert any(skipped in n for n in by_glob.notes), (skipped, by_glob.notes)
        assert any(skipped in n for n in by_directory.notes), (skipped, by_directory.notes)


def test_a_missing_path_is_named_before_anything_is_read(tmp_path: Path) -> None:
    (tmp_path / "a.ndjson").write_text("x")
    with pytest.raises(PathMissing, match=r"no such file: .*nothere\.csv"):
        discover([tmp_path / "a.ndjson", tmp_path / "nothere.csv"])


def test_unknown_extension_is_refused() -> None:
    with pytest.raises(FeedRefused, match="unknown feed format"):
        feed_format(Path("feed.xlsx"))


@pytest.mark.parametrize("payload", [XML_BOMB, XXE], ids=["bomb", "xxe"])
def test_hostile_xml_is_refused_fast(tmp_path: Path, payload: str) -> None:
    path = tmp_path / "hostile.xml"
    path.write_text(payload)
    started = time.perf_counter()
    with pytest.raises(FeedRefused, match="hostile or unsupported XML refused"):
        CtfFeed(path, ReaderOptions(), lambda _n: None).hints()
    assert time.perf_counter() - started < 0.5


def test_xml_over_the_byte_cap_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    path.write_text("<CTfile>" + " " * 5000 + "</CTfile>")
    with pytest.raises(FeedRefused, match="over the XML cap"):
        CtfFeed(path, ReaderOptions(max_xml_bytes=1000), lambda _n: None).hints()


def test_ctf_header_gives_source_and_school() -> None:
    feed = CtfFeed(FIXTURES / "school_4321.xml", ReaderOptions(), lambda _n: None)
    hints = feed.hints()
    assert hints.source == "CTF-8234321"
    assert str(hints.extract_date) == "2026-11-02"
    with RejectSink() as sink:
        frames = [f for f, _ in feed.batches(sink)]
    rows = frames[0].to_dicts()
    assert next(r["source_record_id"] for r in rows) == "H801200001001"
    assert '"org_code":"109876"' in rows[0]["involvements"]
    assert '"name":"Sarah Taylor"' in rows[0]["carers"]
    assert rows[0]["address_line_1"] == "12 Mill Lane"
    assert all(":null" not in r["carers"] + r["involvements"] for r in rows)  # canonical JSON


def test_fhir_wrong_resource_type_and_orphans_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "f.ndjson"
    lines = [
        {"resourceType": "Observation", "status": "final", "code": {"text": "x"}},
        {"resourceType": "RelatedPerson", "patient": {"reference": "Patient/nobody"},
         "name": [{"text": "Sam"}]},
        {"resourceType": "Patient", "id": "p1", "birthDate": "2015-13-40"},
        {"resourceType": "Patient", "id": "p2", "birthDate": "2015-01-01",
         "name": [{"family": "Lee", "given": ["Bo"]}]},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    feed = FhirFeed(path, ReaderOptions(), lambda _n: None)
    with RejectSink() as sink:
        frames = [f for f, _ in feed.batches(sink)]
        report = sink.write_report(tmp_path / "r.csv")
    assert feed.records == 5
    assert frames[0].get_column("source_record_id").to_list() == ["p2"]
    text = report.read_text()
    assert '1,resourceType,Observation,"resource type Observation is not accepted' in text
    assert "2,RelatedPerson.patient,Patient/nobody,refers to a Patient that is not in" in text
    assert "3,Patient.birthDate" in text
    assert "5,resource,,not valid JSON" in text


def test_bundle_meta_source_and_type() -> None:
    feed = FhirFeed(FIXTURES / "csc_202_bundle.json", ReaderOptions(), lambda _n: None)
    assert feed.hints().source == "LA-CSC-202"
    with RejectSink() as sink:
        rows = [r for f, _ in feed.batches(sink) for r in f.to_dicts()]
    assert any(r["carers"] != "[]" for r in rows)
    assert all(":null" not in r["carers"] + r["involvements"] for r in rows)  # canonical JSON
    assert source_from_uri("https://example.org/feeds/YOT-202") == "YOT-202"


def test_a_json_that_is_not_a_bundle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"resourceType": "Patient", "id": "x"}))
    with pytest.raises(FeedRefused, match="must be a FHIR Bundle"):
        FhirFeed(path, ReaderOptions(), lambda _n: None).hints()


def test_a_superseded_nhs_number_is_not_the_childs() -> None:
    """PDS can carry a child's old NHS number beside the current one: the current one is the
    child's, whichever comes first."""
    from fhir.resources.R4B.patient import Patient

    from contactpoint.ingest.fhir_map import NHS_NUMBER_SYSTEM, patient_fields

    old = {"system": NHS_NUMBER_SYSTEM, "value": "4000000004", "use": "old"}
    ended = {"system": NHS_NUMBER_SYSTEM, "value": "4000000012",
             "period": {"end": "2020-01-01"}}
    current = {"system": NHS_NUMBER_SYSTEM, "value": "4000000020"}
    for identifiers in ([old, current], [ended, current], [current, old]):
        patient = Patient.model_validate({
            "resourceType": "Patient", "id": "p1", "identifier": identifiers,
            "name": [{"use": "official", "family": "Okafor", "given": ["Amelia"]}],
            "birthDate": "2016-03-14"})
        assert patient_fields(patient)["nhs_number"] == "4000000020"
    patient = Patient.model_validate({
        "resourceType": "Patient", "id": "p1", "identifier": [old],
        "name": [{"use": "official", "family": "Okafor", "given": ["Amelia"]}]})
    assert patient_fields(patient)["nhs_number"] == "4000000004"  # the only one known
