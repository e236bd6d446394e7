"""The fast shape check never lets through a resource the ``fhir.resources`` model rejects, and
a resource it passes maps exactly as through the model (same contribution, same reject)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contactpoint.ingest import fhir_fast, fhir_workers
from contactpoint.ingest.fhir_workers import resource_outcome

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"

PATIENT: dict[str, Any] = {
    "resourceType": "Patient", "id": "PDS-1", "meta": {"source": "NHS-PDS"},
    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"},
                   {"system": "https://example.org/Id/pds", "value": "PDS-1", "use": "usual"}],
    "active": True,
    "name": [{"use": "official", "family": "Lee", "given": ["Bo", "Jo"]},
             {"use": "usual", "given": ["BJ"]}, {"use": "old", "family": "Older"}],
    "gender": "female", "birthDate": "2015-02-28",
    "address": [{"use": "home", "line": ["Flat 2", "1 Church Street", "Area", "More"],
                 "city": "Leeds", "postalCode": "LS1 4AB"}],
    "telecom": [{"system": "phone", "value": "0113 000", "use": "home"}],
    "generalPractitioner": [
        {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code",
                        "value": "B86001"}, "display": "Surgery"},
        {"reference": "Organization/B86002"}],
}
CARER: dict[str, Any] = {
    "resourceType": "RelatedPerson", "id": "PDS-1-rp1", "meta": {"source": "NHS-PDS"},
    "patient": {"reference": "Patient/PDS-1"},
    "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                                  "code": "MTH", "display": "mother"}], "text": "mother"}],
    "name": [{"text": "Sam Lee", "family": "Lee", "given": ["Sam"]}],
    "telecom": [{"system": "phone", "value": "07700 900000", "use": "mobile"}],
}

# values a mutation may put in place of any element or primitive
ODD_VALUES: list[Any] = [
    None, "", " ", "  x", "\tx", "x ", "\u00a0", "\u00a0x", "\x0b", "a b", "a  b", "a\nb", "x",
    "2015", "2015-02", "2015-02-30", "0000-01-01", "1000-01-01", "2015-2-3", "2015-02-28T10:00",
    "Patient/PDS-1", "urn:uuid:1", "-.", "a" * 70, 0, 1, 1.5, True, False, [], [None], [""],
    ["x"], [{}], {}, {"x": 1}, {"text": "x"}, {"reference": "Patient/PDS-1"},
    {"extension": [{"url": "x", "valueString": "y"}]},
]
EXTRA_KEYS = ["extension", "_birthDate", "fhir_comments", "period", "text", "unknown",
              "resource_type", "deceasedBoolean", "multipleBirthInteger", "language"]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node of a JSON value (object keys and list indexes)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += paths(item, (*prefix, i))
    return out


def model_accepts(data: dict[str, Any]) -> bool:
    try:
        fhir_workers.models()[data["resourceType"]].model_validate(copy.deepcopy(data))
    except ValidationError:
        return False
    return True


def through_model(data: dict[str, Any]) -> fhir_workers.Outcome:
    """The outcome with the fast check switched off."""
    saved = fhir_fast.conforms
    fhir_fast.conforms = lambda _t, _d: False  # type: ignore[assignment]
    try:
        return resource_outcome(copy.deepcopy(data), None)
    finally:
        fhir_fast.conforms = saved  # type: ignore[assignment]


def check_sound(data: dict[str, Any]) -> bool:
    """The claim for one resource; returns whether the fast check passed it."""
    rtype = data.get("resourceType")
    passed = isinstance(rtype, str) and fhir_fast.conforms(rtype, data)
    if passed:
        assert model_accepts(data), json.dumps(data)
    assert resource_outcome(copy.deepcopy(data), None) == through_model(data), json.dumps(data)
    return passed


def mutate(base: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from([p for p in paths(out) if p]))
        parent: Any = out
        for step in where[:-1]:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[where[-1]]
        elif action == "add" and isinstance(parent, dict):
            key = data.draw(st.sampled_from(EXTRA_KEYS))
            parent[key] = copy.deepcopy(data.draw(st.sampled_from(ODD_VALUES)))
        else:
            parent[where[-1]] = copy.deepcopy(data.draw(st.sampled_from(ODD_VALUES)))
    return out


def test_the_common_shapes_take_the_fast_path_and_map_as_the_model_does() -> None:
    assert check_sound(PATIENT)
    assert check_sound(CARER)
    carer = {k: v for k, v in CARER.items() if k != "patient"}  # required by the model
    assert not fhir_fast.conforms("RelatedPerson", carer)
    assert not model_accepts(carer)


@pytest.mark.parametrize("name", ["csc_202_bulk.ndjson"])
def test_fixture_resources_agree(name: str) -> None:
    for line in (FIXTURES / name).read_bytes().splitlines():
        if line.strip():
            data = json.loads(line)
            if isinstance(data, dict):
                check_sound(data)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from([PATIENT, CARER]), data=st.data())
def test_mutated_resources_never_pass_the_fast_check_unless_the_model_accepts(
    base: dict[str, Any], data: st.DataObject
) -> None:
    check_sound(mutate(base, data))
