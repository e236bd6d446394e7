"""How the record's stored values read on a page (labels only; the values are the domain's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contactpoint.domain.record import (
    AssessmentStatus,
    ConsentBasis,
    ServiceType,
    Sex,
    WhereaboutsState,
)
from contactpoint.web.display import day

SERVICE_TYPES: Mapping[ServiceType, str] = {
    ServiceType.EDUCATION: "Education",
    ServiceType.PRIMARY_CARE: "GP (primary care)",
    ServiceType.HEALTH_VISITOR: "Health visitor",
    ServiceType.SCHOOL_NURSE: "School nurse",
    ServiceType.SOCIAL_CARE: "Children's social care",
    ServiceType.YOUTH_OFFENDING: "Youth offending",
    ServiceType.CONNEXIONS: "Connexions (young people's advice)",
    ServiceType.CAMHS: "Child and adolescent mental health (CAMHS)",
    ServiceType.SEXUAL_HEALTH: "Sexual health",
    ServiceType.SUBSTANCE_MISUSE: "Substance misuse",
    ServiceType.OTHER: "Other",
}
ASSESSMENT: Mapping[AssessmentStatus, str] = {
    AssessmentStatus.NONE: "No",
    AssessmentStatus.IN_PROGRESS: "In progress",
    AssessmentStatus.COMPLETED: "Completed",
}
CONSENT: Mapping[ConsentBasis, str] = {
    ConsentBasis.NOT_GIVEN: "Not recorded",
    ConsentBasis.CONSENT: "The young person consents",
    ConsentBasis.SIGNIFICANT_HARM: "Significant harm is suspected",
}
SEX: Mapping[str, str] = {Sex.MALE: "Male", Sex.FEMALE: "Female",
                          Sex.NOT_SPECIFIED: "Not specified"}
WHEREABOUTS: Mapping[WhereaboutsState, str] = {
    WhereaboutsState.CURRENT: "Current address",
    WhereaboutsState.LAST_KNOWN: "Last known address",
    WhereaboutsState.NO_KNOWN_ADDRESS: "No known address",
    WhereaboutsState.LEFT_ENGLAND_RETURNING: "Left England, expected to return",
    WhereaboutsState.LEFT_ENGLAND_NOT_RETURNING: "Left England, not expected to return",
    WhereaboutsState.LEFT_ENGLAND_UNKNOWN: "Left England, return not known",
}


def service(value: Any) -> str:
    return SERVICE_TYPES.get(ServiceType(value), str(value))


def assessment(value: Any) -> str:
    return ASSESSMENT.get(AssessmentStatus(value), str(value))


def _sex(value: str | None) -> str:
    return SEX.get(value or "", value or "")


def _whereabouts(value: str) -> str:
    return WHEREABOUTS.get(WhereaboutsState(value), value)


def _consent(value: str) -> str:
    return CONSENT.get(ConsentBasis(value), value)


# Passed to the record and involvement templates as ``words``.
WORDS: Mapping[str, Any] = {"day": day, "service": service, "assessment": assessment,
                            "sex": _sex, "whereabouts": _whereabouts, "consent": _consent}
