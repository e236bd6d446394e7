"""The generator's robustness conditions: each does what it says, keeps the truth exact and every
record valid against the feed contract, and none of them touches the default population."""

from __future__ import annotations

import collections
import csv
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from contactpoint.domain.identifiers import is_valid_nhs_number, is_valid_upn
from contactpoint.errors import ValidationFailed
from contactpoint.synth.conditions import ALL, CONDITIONS, expand, with_conditions
from contactpoint.synth.config import SynthConfig
from contactpoint.synth.delta import DeltaOptions, write_delta
from contactpoint.synth.generate import generate
from contactpoint.synth.ids import chosen_people, second_nhs_numbers, second_upns, upns
from contactpoint.synth.noise import apply_dob_parts, apply_initials, apply_name_habits

CHILDREN = 1500
SEED = 41


@dataclasses.dataclass
class Rec:
    source: str
    key: str
    person: str
    given: str
    middle: str
    family: str
    dob: str
    postcode: str
    nhs: str
    upn: str


def read_extract(out: Path) -> list[Rec]:
    """Every record written (CSV, FHIR NDJSON, CTF XML) with its person from truth.csv; fails
    on a key written twice or a record missing from the truth (or the truth naming more)."""
    with (out / "truth.csv").open(encoding="utf-8") as fh:
        truth = {(r["source"], r["source_record_id"]): r["person_id"] for r in csv.DictReader(fh)}
    recs: list[Rec] = []
    for path in sorted(out.glob("*.csv")):
        if path.name == "truth.csv":
            continue
        source = json.loads(Path(f"{path}.manifest.json").read_text())["source"]
        with path.open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                recs.append(Rec(source, r["source_record_id"],
                                truth[(source, r["source_record_id"])], r["given_name"],
                                r["middle_names"], r["family_name"], r["date_of_birth"],
                                r["postcode"], r["nhs_number"], r["upn"]))
    pds = out / "nhs-pds.ndjson"
    for line in pds.read_text(encoding="utf-8").splitlines() if pds.exists() else []:
        res = json.loads(line)
        if res["resourceType"] != "Patient":
            continue
        nhs = next((i["value"] for i in res.get("identifier", [])
                    if i["system"].endswith("nhs-number")), "")
        name = res["name"][0]
        postcode = (res.get("address") or [{}])[0].get("postalCode", "")
        recs.append(Rec("NHS-PDS", res["id"], truth[("NHS-PDS", res["id"])], name["given"][0],
                        " ".join(name["given"][1:]), name["family"], res["birthDate"],
                        postcode, nhs, ""))
    for path in sorted(out.glob("ctf/*.xml")):
        source = json.loads(Path(f"{path}.manifest.json").read_text())["source"]
        for upn in re.findall(r"<UPN>([^<]+)</UPN>", path.read_text(encoding="utf-8")):
            recs.append(Rec(source, upn, truth[(source, upn)], "x", "", "x", "", "", "", upn))
    keys = [(r.source, r.key) for r in recs]
    assert len(keys) == len(set(keys)), "a source key written twice"
    assert set(keys) == set(truth), "truth.csv and the records written differ"
    return recs


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Rec]]:
    out: dict[str, list[Rec]] = {}
    for name in ("baseline", *CONDITIONS):
        cfg = SynthConfig(children=CHILDREN, seed=SEED)
        if name != "baseline":
            cfg = with_conditions(cfg, [name])
        path = tmp_path_factory.mktemp(name)
        generate(cfg, path)
        out[name] = read_extract(path)
    return out


def by_person(recs: list[Rec]) -> dict[str, list[Rec]]:
    grouped: dict[str, list[Rec]] = collections.defaultdict(list)
    for r in recs:
        grouped[r.person].append(r)
    return grouped


@pytest.mark.parametrize("name", ["baseline", *CONDITIONS])
def test_every_identifier_passes_its_check(name: str, extracts: dict[str, list[Rec]]) -> None:
    recs = extracts[name]
    assert all(is_valid_nhs_number(r.nhs) for r in recs if r.nhs)
    assert all(is_valid_upn(r.upn) for r in recs if r.upn)
    assert all(r.given and r.family for r in recs)


def test_default_config_is_untouched() -> None:
    cfg = SynthConfig(children=10, seed=1)
    assert with_conditions(cfg, []) == cfg
    assert expand(["all"]) == ALL
    assert "dedupe_only" not in ALL
    with pytest.raises(ValidationFailed, match="unknown condition"):
        expand(["initial"])


def test_initials(extracts: dict[str, list[Rec]]) -> None:
    initials = [r for r in extracts["initials"]
                if r.middle and all(len(p) == 1 for p in r.middle.split())]
    assert len(initials) > 50
    assert any(len(r.middle.split()) == 2 for r in initials)  # "I I"
    assert not [r for r in extracts["baseline"]
                if r.middle and all(len(p) == 1 for p in r.middle.split())]
    # the initials belong to a full middle name held elsewhere for the same child
    full = by_person(extracts["initials"])
    r = initials[0]
    names = {x.middle for x in full[r.person] if len(x.middle) > 1}
    assert not names or any(n[0] == r.middle[0] for n in names)


def test_within_source_duplicates(extracts: dict[str, list[Rec]]) -> None:
    twice: dict[str, list[list[Rec]]] = collections.defaultdict(list)
    for person, recs in by_person(extracts["within_source_duplicates"]).items():
        per_source = collections.Counter(r.source for r in recs)
        for source, k in per_source.items():
            if k > 1:
                twice[source].append([r for r in recs if r.source == source and r.person == person])
    pds = twice["NHS-PDS"]
    assert pds
    assert all(len({r.nhs for r in g}) == len(g) for g in pds)
    census = twice["DFE-CENSUS"]
    assert census
    assert all(len({r.upn for r in g}) == len(g) for g in census)
    assert twice["HMRC-CHB"]  # a duplicate claim: no second identifier
    baseline = by_person(extracts["baseline"]).values()
    assert not any(collections.Counter(r.source for r in recs)["NHS-PDS"] > 1 for recs in baseline)


def test_two_nhs_numbers(extracts: dict[str, list[Rec]]) -> None:
    def two(name: str) -> int:
        return sum(len({r.nhs for r in recs if r.nhs}) > 1
                   for recs in by_person(extracts[name]).values())

    assert two("two_nhs_numbers") >= 3
    assert two("two_nhs_numbers") > two("baseline")


def test_name_origins(extracts: dict[str, list[Rec]]) -> None:
    mixed, base = extracts["name_origins"], extracts["baseline"]
    assert sum(r.family.endswith("ska") for r in mixed) > 10
    assert sum(r.family.startswith(("Al-", "El-", "Al ", "El ")) for r in mixed) > 10
    assert len({r.family for r in mixed}) > 1.15 * len({r.family for r in base})
    swapped = 0
    for recs in by_person(mixed).values():
        families = {r.family for r in recs}
        swapped += any(r.given in families and r.family not in families - {r.family}
                       for r in recs if len(families) > 1)
    assert swapped > 0  # family name written first somewhere


def test_typos_x3(extracts: dict[str, list[Rec]]) -> None:
    def spellings(name: str) -> float:
        groups = by_person([r for r in extracts[name] if r.source != "NHS-PDS" and r.dob])
        return float(np.mean([len({r.family.strip().lower() for r in g})
                              for g in groups.values()]))

    assert spellings("typos_x3") > spellings("baseline") + 0.01


def test_missing_dob_parts(extracts: dict[str, list[Rec]]) -> None:
    recs = [r for r in extracts["missing_dob_parts"] if r.dob]
    missing = sum(not r.postcode for r in recs) / len(recs)
    assert 0.15 < missing < 0.35
    firsts = 0
    for group in by_person(recs).values():
        dobs = {r.dob for r in group}
        firsts += len(dobs) > 1 and any(d.endswith("-01") for d in dobs)
    assert firsts > 5


def test_address_churn(extracts: dict[str, list[Rec]]) -> None:
    def movers(name: str) -> int:
        return sum(len({r.postcode for r in g if r.postcode}) >= 3
                   for g in by_person(extracts[name]).values())

    assert movers("address_churn") > 5 * max(1, movers("baseline"))


def test_dedupe_only(extracts: dict[str, list[Rec]]) -> None:
    recs = extracts["dedupe_only"]
    assert {r.source for r in recs} == {"HMRC-CHB"}
    sizes = collections.Counter(len(g) for g in by_person(recs).values())
    assert sizes[2] > 100
    assert sizes[3] > 10


def test_many_sources(extracts: dict[str, list[Rec]]) -> None:
    recs = extracts["many_sources"]
    per_child = len(recs) / len(by_person(recs))
    assert 3.2 < per_child < 3.7
    assert {"LA-HV", "LA-SN", "LA-EH", "LA-CX", "CAMHS"} <= {
        r.source.rsplit("-", 1)[0] for r in recs}


def test_second_identifiers_are_valid_and_new() -> None:
    pid = np.arange(0, 20_000, 7, dtype=np.int64)
    first = set(__import__("contactpoint.synth.ids", fromlist=["x"]).nhs_numbers(
        np.arange(0, 20_000, dtype=np.int64), 3).tolist())
    second = second_nhs_numbers(pid, 3).tolist()
    assert all(is_valid_nhs_number(n) for n in second)
    assert not first & set(second)
    upn = upns(np.full(pid.size, 330), np.full(pid.size, 2001), np.full(pid.size, 19),
               pid % 1000)
    again = second_upns(upn, pid).tolist()
    assert all(is_valid_upn(u) for u in again)
    assert not set(upn.tolist()) & set(again)
    assert len(set(again)) == len(again)
    chosen = chosen_people(np.arange(100_000, dtype=np.int64), 0.05, 3)
    assert 0.045 < chosen.mean() < 0.055


def test_noise_functions() -> None:
    rng = np.random.default_rng(1)
    out = apply_initials(np.array(["Iqra Ivy"] * 200 + [""]), 1.0, rng)
    assert set(out.tolist()) == {"I I", "I", "Iqra", ""}
    dob = np.array(["2015-07-19"] * 100, dtype="datetime64[D]")
    parts = np.datetime_as_string(apply_dob_parts(dob, 0.5, 0.2, rng)).tolist()
    assert set(parts) == {"2015-07-19", "2015-07-01", "2015-01-01"}
    given, _middle, family = apply_name_habits(
        np.array(["Zofia", "Ali", "Oluwaseun"]), np.array(["", "", ""]),
        np.array(["Kowalska", "Al-Amin", "Adeyemi"]),
        np.array(["east_european", "arabic", "african"]), 1.0, rng)
    assert family[0] == "Kowalski"
    assert family[1] != "Al-Amin"
    assert family[1].lower().endswith("amin")
    assert given[2] in ("Seun", "Oluwa Seun")


def test_a_delta_redraws_a_conditioned_base(tmp_path: Path) -> None:
    cfg = with_conditions(SynthConfig(children=800, seed=3), ["initials", "name_origins"])
    generate(cfg, tmp_path / "base")
    params = json.loads((tmp_path / "base" / "synth.json").read_text())
    assert params["conditions"] == ["initials", "name_origins"]
    counts = write_delta(tmp_path / "base", tmp_path / "delta", DeltaOptions(records=100))
    assert sum(counts.values()) > 0


def test_cli_takes_conditions_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from contactpoint.cli.main import app

    result = CliRunner().invoke(app, ["synth", "--children", "300", "--seed", "5",
                                      "--condition", "dedupe_only", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    params = json.loads((tmp_path / "synth.json").read_text())
    assert params["conditions"] == ["dedupe_only"]
    assert params["rates"]["dedupe_only"] == 0.3
    assert set(params["records"]) == {"HMRC-CHB"}
    bad = CliRunner().invoke(app, ["synth", "--children", "300", "--condition", "initial",
                                   "--out", str(tmp_path / "bad")])
    assert bad.exit_code != 0
    assert "unknown condition 'initial'" in bad.output


def test_a_dedupe_only_base_has_no_delta(tmp_path: Path) -> None:
    generate(with_conditions(SynthConfig(children=300, seed=3), ["dedupe_only"]), tmp_path / "b")
    with pytest.raises(ValidationFailed, match="dedupe-only"):
        write_delta(tmp_path / "b", tmp_path / "d", DeltaOptions(records=10))
