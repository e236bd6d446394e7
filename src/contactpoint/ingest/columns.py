"""The feed contract's column names, lengths and enumerations (docs: shared/spec/feeds.md)."""

from __future__ import annotations

from contactpoint.domain.record import AssessmentStatus, ServiceType

# Identity columns every reader produces (strings, stripped, empty -> null).
IDENTITY_COLUMNS: tuple[str, ...] = (
    "source_record_id", "record_status", "given_name", "middle_names", "family_name",
    "former_family_name", "preferred_name", "date_of_birth", "sex", "address_line_1",
    "address_line_2", "address_line_3", "town", "postcode", "nhs_number", "upn",
)
PARENT_FIELDS = ("name", "relationship", "phone", "parental_responsibility")
PARENT_COLUMNS: tuple[str, ...] = tuple(
    f"parent_{n}_{f}" for n in (1, 2) for f in PARENT_FIELDS
)
SERVICE_COLUMNS: tuple[str, ...] = (
    "service_type", "service_org_code", "service_org_name", "practitioner_name",
    "practitioner_role", "practitioner_phone", "practitioner_email", "service_start",
    "service_end", "sensitive_service", "consent_to_disclose", "assessment_status",
    "lead_professional",
)
CSV_COLUMNS: tuple[str, ...] = IDENTITY_COLUMNS + PARENT_COLUMNS + SERVICE_COLUMNS
CSV_REQUIRED: tuple[str, ...] = ("source_record_id", "given_name", "family_name", "date_of_birth")

# What lands in the staging table, in this order (carers/involvements are JSON text).
STAGE_COLUMNS: tuple[str, ...] = (*IDENTITY_COLUMNS, "carers", "involvements", "content_hash")
ROW = "_row"  # the record's row number in its file (header = row 1 for CSV)

# Longest value each text column may hold (the database column, or a sane cap for JSON parts).
MAX_LENGTH: dict[str, int] = {
    "source_record_id": 128, "given_name": 128, "middle_names": 256, "family_name": 128,
    "former_family_name": 128, "preferred_name": 128, "address_line_1": 256,
    "address_line_2": 256, "address_line_3": 256, "town": 128,
    **dict.fromkeys(PARENT_COLUMNS + SERVICE_COLUMNS, 256),
}

RECORD_STATUSES = ("active", "deleted")
SEXES = ("M", "F", "U")
YES_NO = ("Y", "N")
SERVICE_TYPES: tuple[str, ...] = tuple(s.value for s in ServiceType)
ASSESSMENT_STATUSES: tuple[str, ...] = tuple(a.value for a in AssessmentStatus)
