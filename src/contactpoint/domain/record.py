"""The child record: exactly the statutory content (SI 2007/2182 Schedule 1) and nothing more.

There is deliberately no place for case notes, opinions or free text about a child. Every
record class is declared through :func:`statutory`, which refuses at class-definition time any
field that is not on :data:`STATUTORY_FIELDS`; the database tables are checked against the same
allow-list (``contactpoint.db.tables``), and a test sweeps both.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar, dataclass_transform

# Every field name any record class or record table may carry. Adding a name here is a
# deliberate, reviewed act: it must map to a paragraph of the statutory schedule, or be
# provenance/bookkeeping that says nothing about the child.
STATUTORY_FIELDS: frozenset[str] = frozenset(
    {
        # para 1: name, including former names
        "given_name", "middle_names", "family_name", "former_family_name",
        "former_family_names", "preferred_name", "name", "names", "current",
        # para 2: address or whereabouts
        "whereabouts", "state", "address", "address_line_1", "address_line_2",
        "address_line_3", "lines", "town", "postcode",
        # para 3 and 4: gender, date of birth
        "sex", "gender", "date_of_birth",
        # para 5: identifiers
        "child_id", "nhs_number", "upn",
        # para 6: parental responsibility / care, with contact details
        "carers", "relationship", "phone", "parental_responsibility",
        # para 7 onwards: education setting, GP, services and practitioners
        "education_setting", "gp_practice", "involvements", "service_type", "org_code",
        "org_name", "practitioner_name", "practitioner_role", "practitioner_phone",
        "practitioner_email", "start", "end", "sensitive", "consent_basis",
        "assessment_status", "lead_professional",
        # provenance and bookkeeping (about the data, not the child)
        "id", "source_code", "source_record_id", "record_status", "status",
        "extract_id", "first_extract_id", "content_hash", "created_at",
        "updated_at", "shielded", "owning_la", "merged_into_id", "retained_to_25",
        "sequence_number",
        # who recorded a practitioner involvement, and the child it was recorded against
        # (``child.id``; merges are followed at read time): bookkeeping, not about the child
        "child_key", "created_by",
    }
)

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def statutory(cls: type[_T]) -> type[_T]:
    """Make ``cls`` a frozen dataclass whose every field is on the statutory allow-list."""
    data_cls = dataclasses.dataclass(frozen=True, slots=True)(cls)
    extra = {f.name for f in dataclasses.fields(data_cls)} - STATUTORY_FIELDS  # type: ignore[arg-type]
    if extra:
        raise TypeError(
            f"{cls.__name__} declares fields outside the statutory allow-list: {sorted(extra)}. "
            "Contactpoint holds no case notes or opinions; see docs/adr/0003-statutory-fields.md."
        )
    return data_cls


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"
    NOT_SPECIFIED = "U"


class WhereaboutsState(StrEnum):
    CURRENT = "current"
    LAST_KNOWN = "last_known"
    NO_KNOWN_ADDRESS = "no_known_address"
    LEFT_ENGLAND_RETURNING = "left_england_returning"
    LEFT_ENGLAND_NOT_RETURNING = "left_england_not_returning"
    LEFT_ENGLAND_UNKNOWN = "left_england_unknown"


class ServiceType(StrEnum):
    EDUCATION = "education"
    PRIMARY_CARE = "primary_care"
    HEALTH_VISITOR = "health_visitor"
    SCHOOL_NURSE = "school_nurse"
    SOCIAL_CARE = "social_care"
    YOUTH_OFFENDING = "youth_offending"
    CONNEXIONS = "connexions"
    CAMHS = "camhs"
    SEXUAL_HEALTH = "sexual_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    OTHER = "other"


SENSITIVE_SERVICE_TYPES = frozenset(
    {ServiceType.SEXUAL_HEALTH, ServiceType.SUBSTANCE_MISUSE, ServiceType.CAMHS}
)


class AssessmentStatus(StrEnum):
    NONE = "none"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class InvolvementStatus(StrEnum):
    """A practitioner-recorded involvement: current until its practitioner marks it ceased."""

    CURRENT = "current"
    CEASED = "ceased"


class ConsentBasis(StrEnum):
    """Why a sensitive involvement may be shown (reg 11(3))."""

    NOT_GIVEN = "not_given"
    CONSENT = "consent"
    SIGNIFICANT_HARM = "significant_harm"


class RecordStatus(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


@statutory
class Carer:
    name: str
    relationship: str | None = None
    phone: str | None = None
    parental_responsibility: bool | None = None


@statutory
class Involvement:
    service_type: ServiceType
    org_code: str | None = None
    org_name: str | None = None
    practitioner_name: str | None = None
    practitioner_role: str | None = None
    practitioner_phone: str | None = None
    practitioner_email: str | None = None
    start: date | None = None
    end: date | None = None
    sensitive: bool = False
    consent_basis: ConsentBasis = ConsentBasis.NOT_GIVEN
    assessment_status: AssessmentStatus = AssessmentStatus.NONE
    lead_professional: bool = False

    @property
    def is_current(self) -> bool:
        return self.end is None or self.end >= date.today()  # noqa: DTZ011 - a calendar date


@statutory
class Address:
    lines: tuple[str, ...] = ()
    town: str | None = None
    postcode: str | None = None


@statutory
class Whereabouts:
    state: WhereaboutsState
    address: Address | None = None


@statutory
class ChildNames:
    given_name: str
    family_name: str
    middle_names: str | None = None
    preferred_name: str | None = None
    former_family_names: tuple[str, ...] = ()


@statutory
class ChildRecord:
    """One child as the index presents it, assembled from its source records."""

    child_id: str
    names: ChildNames
    whereabouts: Whereabouts
    gender: Sex
    date_of_birth: date
    nhs_number: str | None = None
    upn: str | None = None
    carers: tuple[Carer, ...] = ()
    education_setting: Involvement | None = None
    gp_practice: Involvement | None = None
    involvements: tuple[Involvement, ...] = ()
    shielded: bool = False
    owning_la: str | None = None


@statutory
class SourceRecord:
    """One source's view of one child, normalised: what every feed reader produces."""

    source_code: str
    source_record_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    record_status: RecordStatus = RecordStatus.ACTIVE
    middle_names: str | None = None
    former_family_name: str | None = None
    preferred_name: str | None = None
    sex: Sex | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    address_line_3: str | None = None
    town: str | None = None
    postcode: str | None = None
    nhs_number: str | None = None
    upn: str | None = None
    carers: tuple[Carer, ...] = ()
    involvements: tuple[Involvement, ...] = ()


def record_field_names(cls: type[Any]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


RECORD_CLASSES: tuple[type[Any], ...] = (
    Carer, Involvement, Address, Whereabouts, ChildNames, ChildRecord, SourceRecord,
)
