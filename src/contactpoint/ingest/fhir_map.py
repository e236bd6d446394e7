"""Map typed FHIR R4 resources (``fhir.resources.R4B``) onto the feed contract's fields.

Pure functions: a validated Patient -> identity fields; RelatedPerson -> a carer;
EpisodeOfCare / CareTeam -> an involvement. A problem raises :class:`MappingError` with the
FHIR path and the value, which becomes a reject line.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from contactpoint.ingest.columns import SERVICE_TYPES

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
_GENDER = {"male": "M", "female": "F", "other": "U", "unknown": "U"}
# v3 RoleCode relationships that carry parental responsibility by default.
_PARENTAL = {"MTH", "FTH", "PRN", "NMTH", "NFTH", "NPRN", "GUARD", "ADOPTMTH", "ADOPTFTH", "ADOPTP"}


class MappingError(ValueError):
    def __init__(self, path: str, value: str | None, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.value = value
        self.reason = reason


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _reference_tail(reference: str | None) -> str | None:
    if not reference:
        return None
    return reference.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or None


def _pick_name(names: list[Any], use: str) -> Any | None:
    return next((n for n in names if n.use == use), None)


def patient_fields(patient: Any) -> dict[str, str | None]:
    """Identity fields (strings, unvalidated) of a Patient; the source key is required."""
    nhs = superseded = None
    own_key = None
    for ident in patient.identifier or []:
        if ident.system == NHS_NUMBER_SYSTEM:
            # a number recorded as superseded (use "old", or a period that has ended) is not
            # the child's NHS number: the current one is, whatever the order
            if ident.use == "old" or (ident.period is not None and ident.period.end):
                superseded = superseded or _text(ident.value)
            else:
                nhs = nhs or _text(ident.value)
        elif own_key is None and _text(ident.value):
            own_key = _text(ident.value)
    nhs = nhs or superseded
    key = own_key or _text(patient.id)
    if not key:
        raise MappingError("Patient.identifier", None, "no source identifier and no Patient.id")
    names = list(patient.name or [])
    current = (
        _pick_name(names, "official") or _pick_name(names, "usual")
        or next((n for n in names if n.use not in ("old", "maiden")), None)
    )
    usual = _pick_name(names, "usual")
    old = _pick_name(names, "old") or _pick_name(names, "maiden")
    given = list(current.given or []) if current else []
    fields: dict[str, str | None] = {
        "source_record_id": key,
        "given_name": _text(given[0]) if given else None,
        "middle_names": " ".join(g for g in given[1:] if g) or None,
        "family_name": _text(current.family) if current else None,
        "former_family_name": _text(old.family) if old else None,
        "preferred_name": (
            _text(usual.given[0]) if usual is not None and usual is not current and usual.given
            else None
        ),
        "date_of_birth": _text(patient.birthDate),
        "sex": _GENDER.get(patient.gender) if patient.gender else None,
        "nhs_number": nhs,
        "record_status": "deleted" if patient.active is False else "active",
    }
    addresses = list(patient.address or [])
    home = next((a for a in addresses if a.use == "home"), addresses[0] if addresses else None)
    lines = list(home.line or []) if home else []
    for i in range(3):
        fields[f"address_line_{i + 1}"] = _text(lines[i]) if i < len(lines) else None
    if len(lines) > 3:
        fields["address_line_3"] = " ".join(x for x in lines[2:] if x)
    fields["town"] = _text(home.city) if home else None
    fields["postcode"] = _text(home.postalCode) if home else None
    return fields


def gp_involvements(patient: Any) -> list[dict[str, Any]]:
    out = []
    for ref in patient.generalPractitioner or []:
        code = _text(ref.identifier.value) if ref.identifier else None
        out.append(involvement("primary_care", code or _reference_tail(ref.reference),
                               _text(ref.display)))
    return out


def involvement(
    service_type: str, org_code: str | None = None, org_name: str | None = None, **extra: Any
) -> dict[str, Any]:
    from contactpoint.domain.record import SENSITIVE_SERVICE_TYPES

    return without_nulls({
        "service_type": service_type, "org_code": org_code, "org_name": org_name,
        "practitioner_name": extra.get("practitioner_name"),
        "practitioner_role": extra.get("practitioner_role"),
        "practitioner_phone": None, "practitioner_email": None,
        "start": extra.get("start"), "end": extra.get("end"),
        "sensitive": service_type in {s.value for s in SENSITIVE_SERVICE_TYPES},
        "consent_basis": "not_given", "assessment_status": "none", "lead_professional": False,
    })


def without_nulls(item: dict[str, Any]) -> dict[str, Any]:
    """The canonical JSON form of a carer or involvement leaves out null-valued keys (as the
    CSV path does): readers take a missing key as null."""
    return {k: v for k, v in item.items() if v is not None}


def _service_type(codeable: Any, path: str) -> str:
    code = None
    for coding in codeable.coding or [] if codeable else []:
        code = code or _text(coding.code)
    code = code or (_text(codeable.text) if codeable else None)
    if code is None:
        return "other"
    if code.lower() not in SERVICE_TYPES:
        raise MappingError(path, code, f"not a service type ({', '.join(SERVICE_TYPES)})")
    return code.lower()


def _period(period: Any, path: str) -> tuple[str | None, str | None]:
    if period is None:
        return None, None
    start, end = _text(period.start), _text(period.end)
    start, end = (s[:10] if s else None for s in (start, end))
    if start and end and end < start:
        raise MappingError(f"{path}.end", end, "before the period's start")
    return start, end


def episode_involvement(episode: Any) -> dict[str, Any]:
    stype = _service_type((episode.type or [None])[0], "EpisodeOfCare.type")
    org = episode.managingOrganization
    manager = episode.careManager
    start, end = _period(episode.period, "EpisodeOfCare.period")
    return involvement(
        stype,
        (_text(org.identifier.value) if org and org.identifier else None)
        or (_reference_tail(org.reference) if org else None),
        _text(org.display) if org else None,
        practitioner_name=_text(manager.display) if manager else None,
        start=start, end=end,
    )


def careteam_involvement(team: Any) -> dict[str, Any]:
    stype = _service_type((team.category or [None])[0], "CareTeam.category")
    orgs = team.managingOrganization or []
    org = orgs[0] if orgs else None
    member = role = None
    for participant in team.participant or []:
        if participant.member is not None:
            member = _text(participant.member.display)
            roles = participant.role or []
            role = _text(roles[0].text) if roles else None
            if roles and role is None and roles[0].coding:
                role = _text(roles[0].coding[0].display)
            break
    start, end = _period(team.period, "CareTeam.period")
    return involvement(
        stype,
        (_text(org.identifier.value) if org and org.identifier else None)
        or (_reference_tail(org.reference) if org else None),
        _text(org.display) if org else None,
        practitioner_name=member, practitioner_role=role, start=start, end=end,
    )


def related_carer(person: Any) -> dict[str, Any]:
    names = list(person.name or [])
    name = None
    if names:
        first = names[0]
        name = _text(first.text) or " ".join(
            x for x in [*(first.given or []), first.family or ""] if x
        ) or None
    if not name:
        raise MappingError("RelatedPerson.name", None, "a carer needs a name")
    relationship = code = None
    for concept in person.relationship or []:
        for coding in concept.coding or []:
            code = code or _text(coding.code)
            relationship = relationship or _text(coding.display) or _text(coding.code)
        relationship = relationship or _text(concept.text)
    phone = next(
        (_text(t.value) for t in person.telecom or [] if t.system == "phone"), None
    )
    return without_nulls({
        "name": name, "relationship": relationship, "phone": phone,
        "parental_responsibility": True if code and code.upper() in _PARENTAL else None,
    })


def patient_reference(resource_type: str, resource: Any) -> str | None:
    if resource_type == "CareTeam":
        return _text(resource.subject.reference) if resource.subject else None
    ref = resource.patient
    return _text(ref.reference) if ref is not None else None
