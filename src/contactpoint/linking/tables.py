"""Linkage bookkeeping: runs, link events, merges/unmerges and the clerical review queue.

``link_event`` and ``merge_event`` are append-only: a row is written once and never updated or
deleted (every change of a record's ``record_link`` writes one ``link_event``). Review items
change status as a human decides them; each decision is its own append-only ``review_decision``
row, remembered by the pair of source records it concerns. None of these tables holds personal
data: ids, scores, model versions and the reviewer's stated reason only.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeEngine

from contactpoint.db.base import BigId, UTCDateTime, metadata, one_of
from contactpoint.domain.linkage import (
    LinkEventKind,
    LinkRunMode,
    MergeKind,
    ReviewOutcome,
    ReviewStatus,
)

link_run = Table(
    "link_run",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("mode", String(16), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("records_in", Integer, nullable=False, server_default="0"),
    Column("records_linked", Integer, nullable=False, server_default="0"),
    Column("children_created", Integer, nullable=False, server_default="0"),
    Column("review_items", Integer, nullable=False, server_default="0"),
    Column("records_held", Integer, nullable=False, server_default="0"),
    CheckConstraint(one_of("mode", LinkRunMode), name="mode"),
)

merge_event = Table(
    "merge_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),
    Column("from_child_key", BigId, ForeignKey("child.id"), nullable=False),
    Column("into_child_key", BigId, ForeignKey("child.id"), nullable=False),
    Column("record_count", Integer, nullable=False),
    Column("forced", Boolean, nullable=False, server_default="0"),
    Column("shielded", Boolean, nullable=False),
    Column("actor", String(128), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("review_item_id", BigId, ForeignKey("review_item.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(one_of("kind", MergeKind), name="kind"),
)

# No foreign keys on purpose: a first link run appends millions of rows, and the constraint
# triggers cost about three times the insert itself. Every id it holds points at a row that is
# never deleted (source records, children, runs and merge events are kept for good).
link_event = Table(
    "link_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("record_key", BigId, nullable=False),  # source_record.id
    Column("child_key", BigId, nullable=True),  # child.id (None: held for review)
    Column("previous_child_key", BigId, nullable=True),  # child.id it left
    Column("kind", String(8), nullable=False),
    Column("band", String(16), nullable=False),
    Column("match_probability", Float, nullable=True),
    Column("model_version", String(64), nullable=True),
    Column("run_id", BigId, nullable=True),  # link_run.id
    Column("merge_event_id", BigId, nullable=True),  # merge_event.id
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(one_of("kind", LinkEventKind), name="kind"),
)
Index("ix_link_event_record", link_event.c.record_key)
Index("ix_link_event_child", link_event.c.child_key)

review_item = Table(
    "review_item",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("record_key_l", BigId, ForeignKey("source_record.id"), nullable=False),
    Column("record_key_r", BigId, ForeignKey("source_record.id"), nullable=False),
    Column("child_key", BigId, ForeignKey("child.id"), nullable=True),
    Column("match_probability", Float, nullable=True),
    Column("cause", String(64), nullable=False),
    Column("model_version", String(64), nullable=True),
    Column("run_id", BigId, ForeignKey("link_run.id"), nullable=True),
    Column("status", String(12), nullable=False, server_default="open"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    UniqueConstraint("record_key_l", "record_key_r", name="uq_review_item_pair"),
    CheckConstraint("record_key_l < record_key_r", name="pair_order"),
    CheckConstraint(one_of("status", ReviewStatus), name="status"),
)
Index("ix_review_item_status", review_item.c.status)

review_decision = Table(
    "review_decision",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("record_key_l", BigId, ForeignKey("source_record.id"), nullable=False),
    Column("record_key_r", BigId, ForeignKey("source_record.id"), nullable=False),
    Column("outcome", String(12), nullable=False),
    Column("review_item_id", BigId, ForeignKey("review_item.id"), nullable=True),
    Column("forced", Boolean, nullable=False, server_default="0"),
    Column("actor", String(128), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("decided_at", UTCDateTime, nullable=False),
    CheckConstraint("record_key_l < record_key_r", name="pair_order"),
    CheckConstraint(one_of("outcome", ReviewOutcome), name="outcome"),
)
Index("ix_review_decision_l", review_decision.c.record_key_l)
Index("ix_review_decision_r", review_decision.c.record_key_r)

# Practitioner search: the engine's normalised keys of every active, linked source record
# (``matching.engine.search_keys``), kept up to date by link runs, merges and unmerges
# (``linking.search_keys``). Narrow and indexed for candidate retrieval, so ``source_record``
# (tuned for import) carries no search index. Derived from statutory fields only; no FKs for
# the same reason as ``record_link`` (bulk writes by the linker alone).
def _bytewise(length: int) -> TypeEngine[str]:
    """A key column compared byte by byte on PostgreSQL (``COLLATE "C"``): keys are matched
    for equality, never sorted for people, and PostgreSQL sorts "C" text with abbreviated
    keys (memcmp) where a linguistic collation calls ``strcoll`` per comparison: each index
    build of a first run's ~3.4 M keys took ~1.7x as long (migration 0021)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


_KEY = _bytewise(64)
search_key = Table(
    "search_key",
    metadata,
    Column("record_key", BigId, primary_key=True, autoincrement=False),  # source_record.id
    Column("child_key", BigId, nullable=False),  # child.id
    Column("fn", _KEY, nullable=True),
    Column("fn_canon", _KEY, nullable=True),
    Column("fn_mp", _KEY, nullable=True),
    Column("fn_ocr", _KEY, nullable=True),
    Column("fn_names", String(256), nullable=True),
    Column("sn", _KEY, nullable=True),
    Column("sn_mp", _KEY, nullable=True),
    Column("sn_ocr", _KEY, nullable=True),
    Column("sn_names", String(256), nullable=True),
    Column("sn_former", _KEY, nullable=True),
    Column("dob", _bytewise(10), nullable=True),
    Column("sex", String(1), nullable=True),
    Column("pc", _bytewise(8), nullable=True),
    Column("pc_sector", _bytewise(8), nullable=True),
    Column("pc_district", _bytewise(4), nullable=True),
    Column("town", String(128), nullable=True),
    Column("nhs", _bytewise(10), nullable=True),
    Column("upn", _bytewise(13), nullable=True),
)
# One index per retrieval path of linking.search_keys.candidates (the accepted combinations);
# none on child_key: nothing reads the table by child (migration 0022).
Index("ix_search_key_nhs", search_key.c.nhs, postgresql_where=text("nhs IS NOT NULL"),
      sqlite_where=text("nhs IS NOT NULL"))
Index("ix_search_key_upn", search_key.c.upn, postgresql_where=text("upn IS NOT NULL"),
      sqlite_where=text("upn IS NOT NULL"))
Index("ix_search_key_sn_dob", search_key.c.sn, search_key.c.dob)
Index("ix_search_key_fn_dob", search_key.c.fn_canon, search_key.c.dob)
Index("ix_search_key_snmp_dob", search_key.c.sn_mp, search_key.c.dob)
Index("ix_search_key_fn_sn", search_key.c.fn_canon, search_key.c.sn)
Index("ix_search_key_sn_district", search_key.c.sn, search_key.c.pc_district)
Index("ix_search_key_fn_district", search_key.c.fn_canon, search_key.c.pc_district)
Index("ix_search_key_dob_district", search_key.c.dob, search_key.c.pc_district)
Index("ix_search_key_former_dob", search_key.c.sn_former, search_key.c.dob,
      postgresql_where=text("sn_former IS NOT NULL"), sqlite_where=text("sn_former IS NOT NULL"))
