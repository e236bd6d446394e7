"""Core tables: sources, extracts, source records and child records.

Source records are what each feed said, with provenance; child records are the linked
identities built from them. Every column of a record table is checked against the statutory
allow-list (``RECORD_TABLES`` and ``tests/unit/test_statutory_fields.py``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)

from contactpoint.db.base import BigId, UTCDateTime, metadata, one_of
from contactpoint.domain.linkage import ChildStatus, RecordStatus

source = Table(
    "source",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("recognised", Boolean, nullable=False),
    Column("registered_at", UTCDateTime, nullable=False),
    # Set (for good) once any record of the source carries a sensitive-service involvement:
    # outputs that name sources leave such a source's records out (migration 0015).
    Column("sensitive", Boolean, nullable=False, server_default="0"),
)

source_authority = Table(
    "source_authority",
    metadata,
    Column("source_code", String(64), ForeignKey("source.code"), primary_key=True),
    Column("field", String(32), primary_key=True),
    Column("rank", Integer, nullable=False),
)

extract = Table(
    "extract",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source_code", String(64), ForeignKey("source.code"), nullable=False),
    Column("file_name", String(512), nullable=False),
    Column("content_hash", String(64), nullable=False, unique=True),
    Column("format", String(8), nullable=False),
    Column("extract_type", String(8), nullable=False),
    Column("extract_date", Date, nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_landed", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("rows_retired", Integer, nullable=False),
    CheckConstraint("extract_type IN ('full', 'delta')", name="extract_type"),
    CheckConstraint("format IN ('csv', 'fhir', 'ctf')", name="format"),
)
Index("ix_extract_source_date", extract.c.source_code, extract.c.extract_date)

child = Table(
    "child",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("child_id", String(12), nullable=False, unique=True),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("merged_into_id", BigId, ForeignKey("child.id"), nullable=True),
    Column("shielded", Boolean, nullable=False, server_default="0"),
    Column("owning_la", String(16), nullable=True),
    Column("retained_to_25", Boolean, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(one_of("status", ChildStatus), name="status"),
)
# the few shielded children, found without reading every child (migration 0010)
Index("ix_child_shielded", child.c.id, postgresql_where=text("shielded"),
      sqlite_where=text("shielded"))
# the children merged into each child, for reads that follow merges (migration 0015)
Index("ix_child_merged_into", child.c.merged_into_id,
      postgresql_where=text("merged_into_id IS NOT NULL"),
      sqlite_where=text("merged_into_id IS NOT NULL"))

source_record = Table(
    "source_record",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # source_code, first_extract_id, extract_id: no FOREIGN KEY on purpose (import speed);
    # the importer guarantees them (docs/adr/0005-import-provenance-integrity.md).
    Column("source_code", String(64), nullable=False),
    Column("source_record_id", String(128), nullable=False),
    Column("record_status", String(8), nullable=False),
    Column("given_name", String(128), nullable=False),
    Column("middle_names", String(256), nullable=True),
    Column("family_name", String(128), nullable=False),
    Column("former_family_name", String(128), nullable=True),
    Column("preferred_name", String(128), nullable=True),
    Column("date_of_birth", Date, nullable=False),
    Column("sex", String(1), nullable=True),
    Column("address_line_1", String(256), nullable=True),
    Column("address_line_2", String(256), nullable=True),
    Column("address_line_3", String(256), nullable=True),
    Column("town", String(128), nullable=True),
    Column("postcode", String(8), nullable=True),
    Column("nhs_number", String(10), nullable=True),
    Column("upn", String(13), nullable=True),
    Column("carers", JSON, nullable=False),
    Column("involvements", JSON, nullable=False),
    Column("first_extract_id", BigId, nullable=False),
    Column("extract_id", BigId, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("source_code", "source_record_id", name="uq_source_record_key"),
    # equality chains, not IN lists: SQLite evaluates an IN list through a temporary table,
    # ~3 µs per inserted row (migration 0009)
    CheckConstraint(one_of("record_status", RecordStatus, chain=True), name="record_status"),
    CheckConstraint("sex IS NULL OR sex = 'M' OR sex = 'F' OR sex = 'U'", name="sex"),
)
# Partial: look-ups only ever want the non-null side (migration 0006_import_speed).
Index("ix_source_record_nhs", source_record.c.nhs_number,
      postgresql_where=text("nhs_number IS NOT NULL"), sqlite_where=text("nhs_number IS NOT NULL"))

# Which child each source record belongs to, and which records wait for a link run: narrow
# tables of their own (migration 0011), so linking never rewrites the wide source records (a
# first run at 1 M children rewrote 2.6 M of them, most of its write-back). No foreign keys on
# purpose: only the importer (``link_queue``) and the linker (both) write them, in bulk, and a
# constraint costs a trigger query and a row lock per row; records and children are never
# deleted.
record_link = Table(
    "record_link",
    metadata,
    Column("record_key", BigId, primary_key=True, autoincrement=False),  # source_record.id
    Column("child_key", BigId, nullable=False),  # child.id
)
Index("ix_record_link_child", record_link.c.child_key)

# A record is queued when it is new, or its content or status changed (the importer); a link
# run takes it off when it links the (active) record. A retired or deleted record stays queued.
link_queue = Table(
    "link_queue",
    metadata,
    Column("record_key", BigId, primary_key=True, autoincrement=False),  # source_record.id
)

# Tables that hold facts about a child: their columns must be on the statutory allow-list.
RECORD_TABLES: tuple[Table, ...] = (child, source_record)
