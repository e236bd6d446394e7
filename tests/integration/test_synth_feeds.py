"""The synthetic generator writes valid feeds in all three formats, with a complete truth file."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from defusedxml import ElementTree
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.relatedperson import RelatedPerson
from typer.testing import CliRunner

from contactpoint.cli.main import app
from contactpoint.domain.identifiers import is_valid_nhs_number, is_valid_postcode, is_valid_upn
from contactpoint.errors import ValidationFailed
from contactpoint.synth.config import SynthConfig
from contactpoint.synth.delta import DeltaOptions, write_delta
from contactpoint.synth.fingerprint import GENERATOR_VERSION
from contactpoint.synth.generate import generate
from contactpoint.synth.sources import CSV_COLUMNS

CHILDREN = 2_000


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("synth")
    started = time.perf_counter()
    generate(SynthConfig(children=CHILDREN, seed=7, chunk_children=1_000), out)
    return out, time.perf_counter() - started


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _csv_files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*.csv") if p.name != "truth.csv")


def _truth(root: Path) -> list[dict[str, str]]:
    with (root / "truth.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_small_run_takes_seconds(run: tuple[Path, float]) -> None:
    assert run[1] < 20


def test_same_seed_same_bytes(run: tuple[Path, float], tmp_path: Path) -> None:
    generate(SynthConfig(children=CHILDREN, seed=7, chunk_children=1_000), tmp_path)
    assert _digest(tmp_path) == _digest(run[0])


def test_other_seed_other_bytes(run: tuple[Path, float], tmp_path: Path) -> None:
    generate(SynthConfig(children=CHILDREN, seed=8, chunk_children=1_000), tmp_path)
    assert _digest(tmp_path)["truth.csv"] != _digest(run[0])["truth.csv"]


def test_every_csv_has_exactly_the_contract_columns_and_valid_ids(
        run: tuple[Path, float]) -> None:
    root = run[0]
    files = _csv_files(root)
    names = {p.name for p in files}
    assert {"dfe-census.csv", "hmrc-chb.csv", "gro-births.csv"} <= names
    assert any(n.startswith("la-csc-") for n in names)
    for path in files:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            assert tuple(reader.fieldnames or ()) == CSV_COLUMNS, path.name
            for row in reader:
                assert row["source_record_id"]
                assert row["given_name"]
                assert row["family_name"]
                assert len(row["date_of_birth"]) == 10
                assert row["date_of_birth"] <= "2026-11-01"
                if row["nhs_number"]:
                    assert is_valid_nhs_number(row["nhs_number"]), path.name
                if row["upn"]:
                    assert is_valid_upn(row["upn"]), path.name
                if row["postcode"]:
                    assert is_valid_postcode(row["postcode"]), (path.name, row["postcode"])
                assert row["sex"] in ("", "M", "F", "U")


def test_manifests_beside_every_feed(run: tuple[Path, float]) -> None:
    root = run[0]
    feeds = [*_csv_files(root), root / "nhs-pds.ndjson", *sorted((root / "ctf").glob("*.xml"))]
    assert len(feeds) > 5
    for feed in feeds:
        manifest = json.loads(Path(f"{feed}.manifest.json").read_text(encoding="utf-8"))
        assert set(manifest) == {"source", "extract_date", "extract_type"}
        assert manifest["extract_date"] == "2026-11-01"
        assert manifest["extract_type"] == "full"
    census = json.loads((root / "dfe-census.csv.manifest.json").read_text(encoding="utf-8"))
    assert census["source"] == "DFE-CENSUS"


def test_fhir_resources_parse_as_r4b(run: tuple[Path, float]) -> None:
    lines = (run[0] / "nhs-pds.ndjson").read_text(encoding="utf-8").splitlines()
    patients = 0
    last_patient = ""
    for line in lines:
        doc = json.loads(line)
        if doc["resourceType"] == "Patient":
            patient = Patient.model_validate(doc)
            last_patient = patient.id or ""
            systems = {i.system for i in patient.identifier or []}
            assert "https://contactpoint.example/Id/NHS-PDS" in systems
            nhs = [i.value for i in patient.identifier or []
                   if i.system == "https://fhir.nhs.uk/Id/nhs-number"]
            assert all(is_valid_nhs_number(v or "") for v in nhs)
            assert patient.generalPractitioner
            patients += 1
        else:
            related = RelatedPerson.model_validate(doc)
            assert related.patient.reference == f"Patient/{last_patient}"
    assert patients > 100


def test_ctf_parses_with_defusedxml(run: tuple[Path, float]) -> None:
    files = sorted((run[0] / "ctf").glob("*.xml"))
    assert files
    for path in files:
        root = ElementTree.parse(path).getroot()
        assert root is not None
        assert root.tag == "CTfile"
        header = root.find("Header")
        assert header is not None
        assert header.findtext("DocumentName") == "Common Transfer File"
        source = header.find("SourceSchool")
        assert source is not None
        laestab = f"{source.findtext('LEA')}{source.findtext('Estab')}"
        assert path.stem == laestab
        pupils = root.findall("CTFpupilData/Pupil")
        assert pupils
        for pupil in pupils:
            assert is_valid_upn(pupil.findtext("UPN") or "")
            assert pupil.findtext("Surname")
            assert pupil.findtext("DOB")


def _record_keys(root: Path) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for path in _csv_files(root):
        source = json.loads(Path(f"{path}.manifest.json").read_text(encoding="utf-8"))["source"]
        with path.open(newline="", encoding="utf-8") as fh:
            keys |= {(source, r["source_record_id"]) for r in csv.DictReader(fh)}
    for line in (root / "nhs-pds.ndjson").read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        if doc["resourceType"] == "Patient":
            keys.add(("NHS-PDS", doc["id"]))
    for path in sorted((root / "ctf").glob("*.xml")):
        doc = ElementTree.parse(path).getroot()
        assert doc is not None
        for upn in doc.iterfind("CTFpupilData/Pupil/UPN"):
            keys.add((f"CTF-{path.stem}", upn.text or ""))
    return keys


def test_truth_covers_every_record_exactly_once(run: tuple[Path, float]) -> None:
    truth = _truth(run[0])
    keys = [(r["source"], r["source_record_id"]) for r in truth]
    assert len(keys) == len(set(keys))
    assert set(keys) == _record_keys(run[0])
    people = {r["person_id"] for r in truth}
    assert 0.97 * CHILDREN <= len(people) <= CHILDREN


def test_twin_rate_roughly_as_configured(tmp_path: Path) -> None:
    from contactpoint.synth.generate import iter_chunks
    from contactpoint.synth.world import build_world

    cfg = SynthConfig(children=40_000, seed=3)
    _, pop = next(iter_chunks(cfg, build_world(cfg.children, cfg.seed)))
    share = float((pop.birth_size == 2).mean())
    # twins are ~2 x twin_rate of babies; triplets rare
    assert 1.4 * cfg.twin_rate < share < 2.6 * cfg.twin_rate
    # multiples share DOB, surname and address, never a forename
    by_birth: dict[int, list[int]] = {}
    for i in range(len(pop)):
        if pop.birth_size[i] > 1:
            by_birth.setdefault(int(pop.birth[i]), []).append(i)
    assert by_birth
    for rows in by_birth.values():
        assert len({str(pop.dob[i]) for i in rows}) == 1
        assert len({pop.family[i] for i in rows}) == 1
        assert len({int(pop.unit[i]) for i in rows}) == 1
        assert len({pop.given[i] for i in rows}) == len(rows)


def test_common_names_recur_across_towns(run: tuple[Path, float]) -> None:
    truth = _truth(run[0])
    assert truth
    with (run[0] / "hmrc-chb.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    names = Counter(r["given_name"].strip().lower() for r in rows)
    top, count = names.most_common(1)[0]
    assert count > len(rows) / 200, top


def test_delta_agrees_with_base_truth(run: tuple[Path, float], tmp_path: Path) -> None:
    counts = write_delta(run[0], tmp_path, DeltaOptions(records=400, seed=2))
    assert counts["GRO-BIRTHS"] == 100
    assert sum(counts.values()) == 400
    params = json.loads((tmp_path / "synth.json").read_text(encoding="utf-8"))
    manifest = json.loads((tmp_path / "nhs-pds.ndjson.manifest.json").read_text(
        encoding="utf-8"))
    assert manifest["extract_type"] == "delta"
    assert manifest["extract_date"] == "2026-11-02"
    base = {(r["source"], r["source_record_id"]): r["person_id"] for r in _truth(run[0])}
    delta = _truth(tmp_path)
    first_new = params["first_new_person_index"]
    assert params["new_in_existing_households"] > 20
    overlap = 0
    for row in delta:
        key = (row["source"], row["source_record_id"])
        if key in base:
            overlap += 1
            assert base[key] == row["person_id"]
        if int(row["person_id"][1:]) >= first_new:
            assert key not in base
    assert overlap > 50  # changed records reuse the base keys
    base_nhs = set()
    for line in (run[0] / "nhs-pds.ndjson").read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        if doc["resourceType"] == "Patient":
            base_nhs |= {i["value"] for i in doc["identifier"] if "nhs-number" in i["system"]}
    with (tmp_path / "gro-births.csv").open(newline="", encoding="utf-8") as fh:
        new_nhs = [r["nhs_number"] for r in csv.DictReader(fh)]
    assert all(is_valid_nhs_number(v) for v in new_nhs)
    assert not base_nhs & set(new_nhs)


def test_cli_writes_feeds(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--children", "300", "--seed", "5",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "truth.csv").is_file()
    assert (tmp_path / "nhs-pds.ndjson").is_file()


def test_cli_writes_a_delta(run: tuple[Path, float], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--seed", "3", "--out", str(tmp_path),
                                      "--delta-of", str(run[0]), "--delta-records", "200"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "gro-births.csv.manifest.json").read_text(
        encoding="utf-8"))
    assert manifest == {"source": "GRO-BIRTHS", "extract_date": "2026-11-02",
                        "extract_type": "delta"}


def test_cli_writes_a_delta_of_a_given_date(run: tuple[Path, float], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--seed", "3", "--out", str(tmp_path),
                                      "--delta-of", str(run[0]), "--delta-records", "200",
                                      "--extract-date", "2026-11-03"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "nhs-pds.ndjson.manifest.json").read_text(
        encoding="utf-8"))
    assert manifest["extract_date"] == "2026-11-03"


def test_cli_refuses_a_delta_of_a_plain_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "d"),
                                      "--delta-of", str(tmp_path)])
    assert result.exit_code == 1


def test_synth_json_counts_hard_cases(run: tuple[Path, float]) -> None:
    params = json.loads((run[0] / "synth.json").read_text(encoding="utf-8"))
    stats = params["population"]
    assert stats["children"] == CHILDREN
    assert stats["twin_pairs"] > 0
    assert stats["moved_last_year"] > 0
    assert sum(params["records"].values()) == len(_truth(run[0]))


def test_same_bytes_across_processes(tmp_path: Path) -> None:
    digests = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        subprocess.run([sys.executable, "-m", "contactpoint", "synth", "--children", "500",
                        "--seed", "11", "--out", str(out)], check=True, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed})
        digests.append(_digest(out))
    assert digests[0] == digests[1]


def test_extract_date_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--children", "400", "--seed", "5",
                                      "--extract-date", "2027-03-31", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "hmrc-chb.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["extract_date"] == "2027-03-31"
    with (tmp_path / "hmrc-chb.csv").open(newline="", encoding="utf-8") as fh:
        dobs = [r["date_of_birth"] for r in csv.DictReader(fh)]
    assert max(dobs) <= "2027-03-31"
    assert max(dobs) > "2026-11-01"


def test_rate_overrides_are_kept_for_the_delta(tmp_path: Path) -> None:
    base, delta = tmp_path / "base", tmp_path / "delta"
    runner = CliRunner()
    result = runner.invoke(app, ["synth", "--children", "800", "--seed", "6", "--out",
                                 str(base), "--rate", "twin_rate=0.2"])
    assert result.exit_code == 0, result.output
    params = json.loads((base / "synth.json").read_text(encoding="utf-8"))
    assert params["rates"] == {"twin_rate": 0.2}
    assert params["population"]["twin_pairs"] > 80
    result = runner.invoke(app, ["synth", "--out", str(delta), "--delta-of", str(base),
                                 "--delta-records", "300"])
    assert result.exit_code == 0, result.output
    known = {(r["source"], r["source_record_id"]): r["person_id"] for r in _truth(base)}
    shared = [(r, known[(r["source"], r["source_record_id"])]) for r in _truth(delta)
              if (r["source"], r["source_record_id"]) in known]
    assert shared
    assert all(row["person_id"] == person for row, person in shared)


def test_unknown_rate_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--children", "10", "--out", str(tmp_path),
                                      "--rate", "no_such_rate=0.1"])
    assert result.exit_code == 2


def test_benchmark_function_reports_figures() -> None:
    from contactpoint.synth.bench import run_synth_benchmark

    figures = run_synth_benchmark(children=300, seed=2)
    assert figures["children"] == 300
    assert int(str(figures["source_records"])) > 300
    assert float(str(figures["peak_rss_mib"])) > 0
    assert float(str(figures["seconds"])) > 0


def test_rerun_into_the_same_directory_leaves_no_stale_feeds(tmp_path: Path) -> None:
    generate(SynthConfig(children=3_000, seed=1), tmp_path)
    generate(SynthConfig(children=100, seed=1), tmp_path)
    assert {(r["source"], r["source_record_id"]) for r in _truth(tmp_path)} == _record_keys(
        tmp_path)
    sources = {json.loads(p.read_text(encoding="utf-8"))["source"]
               for p in tmp_path.rglob("*.manifest.json")}
    assert sources == {r["source"] for r in _truth(tmp_path)}


# --- the delta re-sends existing children consistently with the base -----------------------

DELTA_BASE = SynthConfig(children=3_000, seed=4, chunk_children=1_000)  # three chunks


@pytest.fixture(scope="module")
def delta_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("delta-base")
    delta = tmp_path_factory.mktemp("delta")
    generate(DELTA_BASE, base)
    write_delta(base, delta, DeltaOptions(records=1_500, seed=9))  # not the base seed
    return base, delta


Held = dict[str, str]


def _held_records(root: Path) -> dict[tuple[str, str], Held]:
    """What PDS and CHB hold per (source, key): given, family, former, dob."""
    held: dict[tuple[str, str], Held] = {}
    with (root / "hmrc-chb.csv").open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            held[("HMRC-CHB", r["source_record_id"])] = {
                "given": r["given_name"], "family": r["family_name"],
                "former": r["former_family_name"], "dob": r["date_of_birth"]}
    for line in (root / "nhs-pds.ndjson").read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        if doc["resourceType"] != "Patient":
            continue
        names = {n["use"]: n for n in doc["name"]}
        held[("NHS-PDS", doc["id"])] = {
            "given": names["official"]["given"][0], "family": names["official"]["family"],
            "former": names.get("old", {}).get("family", ""), "dob": doc["birthDate"]}
    return held


def _dob_slips(value: str) -> set[str]:
    """The date and every single slip the generator documents (config.Noise): day and month
    swapped, a day out, a year out (day capped at the 28th)."""
    d = date.fromisoformat(value)
    out = {d, d - timedelta(days=1), d + timedelta(days=1)}
    if d.day <= 12:
        out.add(d.replace(month=d.day, day=d.month))
    out |= {d.replace(year=d.year + k, day=min(d.day, 28)) for k in (-1, 1)}
    return {x.isoformat() for x in out}


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance (a typo is one edit, an OCR slip at most two)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            cur.append(cost)
        prev2, prev = prev, cur
    return prev[-1]


def _same_name(a: str, b: str, related: dict[str, set[str]]) -> bool:
    """Equal up to the generator's documented garbling: case and spaces, a typo on each side,
    a nickname or transliteration, one part of a double-barrelled surname."""
    x, y = _norm(a), _norm(b)
    if not x or not y:
        return False
    if x == y or _edits(x, y) <= 2 or y in related.get(x, set()) or x in related.get(y, set()):
        return True
    parts_x, parts_y = set(x.replace("-", " ").split()), set(y.replace("-", " ").split())
    return len(parts_x) != len(parts_y) and bool(parts_x & parts_y)


def _related_names() -> dict[str, set[str]]:
    from contactpoint.synth.pools import name_pools

    pools = name_pools()
    related: dict[str, set[str]] = {}
    for table in (pools.nicknames, pools.variants):
        for name, forms in table.items():
            for form in forms:
                related.setdefault(_norm(name), set()).add(_norm(form))
                related.setdefault(_norm(form), set()).add(_norm(name))
    return related


def test_delta_resends_the_same_children_under_existing_keys(
        delta_pair: tuple[Path, Path]) -> None:
    base, delta = delta_pair
    base_truth = {(r["source"], r["source_record_id"]): r["person_id"] for r in _truth(base)}
    delta_truth = {(r["source"], r["source_record_id"]): r["person_id"] for r in _truth(delta)}
    base_held, delta_held = _held_records(base), _held_records(delta)
    related = _related_names()
    shared = sorted(k for k in delta_truth if k in base_truth)
    assert len(shared) > 500
    assert {s for s, _ in shared} == {"NHS-PDS", "HMRC-CHB"}
    # changed children come from every chunk of the base
    chunk_of = {int(base_truth[k][1:]) // DELTA_BASE.chunk_children for k in shared}
    assert chunk_of == {0, 1, 2}
    same_dob = same_given = renamed = 0
    for key in shared:
        assert delta_truth[key] == base_truth[key], key
        was, now = base_held[key], delta_held[key]
        assert _dob_slips(was["dob"]) & _dob_slips(now["dob"]), (key, was, now)
        given_ok = now["given"] == "Baby" or was["given"] == "Baby" or _same_name(
            was["given"], now["given"], related)
        family_ok = any(_same_name(a, b, related) for a, b in (
            (was["family"], now["family"]), (was["family"], now["former"]),
            (was["former"], now["family"])))
        assert given_ok or family_ok, (key, was, now)
        same_dob += was["dob"] == now["dob"]
        same_given += _norm(was["given"]) == _norm(now["given"])
        renamed += _norm(now["former"]) == _norm(was["family"]) != ""
    # mostly exactly the same (noise is rare); a redraw of other children would share ~none
    assert same_dob > 0.97 * len(shared)
    assert same_given > 0.9 * len(shared)
    assert renamed > 0.1 * len(shared)  # surname changes are among the changed records


def test_delta_refuses_a_base_of_another_generator_version(
        delta_pair: tuple[Path, Path], tmp_path: Path) -> None:
    base = tmp_path / "base"
    shutil.copytree(delta_pair[0], base)
    params = json.loads((base / "synth.json").read_text(encoding="utf-8"))
    assert params["generator"]["version"] == GENERATOR_VERSION
    params["generator"]["version"] = GENERATOR_VERSION - 1
    (base / "synth.json").write_text(json.dumps(params), encoding="utf-8")
    with pytest.raises(ValidationFailed, match="generator version"):
        write_delta(base, tmp_path / "d", DeltaOptions(records=100, seed=1))
    del params["generator"]
    (base / "synth.json").write_text(json.dumps(params), encoding="utf-8")
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "d"), "--delta-of",
                                      str(base)])
    assert result.exit_code == 1
    assert "older synthetic generator" in result.output
    assert not (tmp_path / "d").exists()


def test_delta_refuses_a_base_drawn_by_changed_code(
        delta_pair: tuple[Path, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A generator change nobody versioned is caught by the digests of what was drawn."""
    import contactpoint.synth.population as population
    from contactpoint.synth.places import STREET_STEMS

    base = delta_pair[0]
    monkeypatch.setattr(population, "MIN_GAP_DAYS", population.MIN_GAP_DAYS + 1)
    with pytest.raises(ValidationFailed, match="population redrawn"):
        write_delta(base, tmp_path / "d1", DeltaOptions(records=100, seed=1))
    monkeypatch.undo()
    monkeypatch.setattr("contactpoint.synth.world.STREET_STEMS", tuple(reversed(STREET_STEMS)))
    with pytest.raises(ValidationFailed, match="world redrawn"):
        write_delta(base, tmp_path / "d2", DeltaOptions(records=100, seed=1))


def test_delta_refuses_a_delta_as_base_and_base_options(delta_pair: tuple[Path, Path],
                                                       tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="itself a delta"):
        write_delta(delta_pair[1], tmp_path / "d", DeltaOptions(records=100, seed=1))
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "d"), "--delta-of",
                                      str(delta_pair[0]), "--chunk-size", "2000"])
    assert result.exit_code == 2
