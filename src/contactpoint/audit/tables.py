"""Audit tables: the append-only event chain, its head row, and signed checkpoints.

Ids of users, organisations and children are stored as plain values, never as foreign keys:
an audit row must outlive (and never cascade-delete with) the thing it is about.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from contactpoint.db.base import UTCDateTime, metadata

# One row per audited event; ``seq`` is our own gapless sequence (1, 2, 3 …) assigned under the
# chain-head lock, so a rolled-back transaction never leaves a hole in the chain.
audit_event = Table(
    "audit_event",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor", String(128), nullable=True),
    Column("organisation", String(64), nullable=True),
    Column("reason", Text, nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("subject", String(128), nullable=True),
    # Canonical JSON text, exactly the bytes that were hashed (not JSON/JSONB, which re-format).
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)
Index("ix_audit_event_subject", audit_event.c.subject)
Index("ix_audit_event_actor", audit_event.c.actor)

# Exactly one row (id = 1): the chain head. Appenders lock it (an UPDATE takes the row lock on
# PostgreSQL and the write lock on SQLite) so the chain is extended one transaction at a time.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
)

# Signed checkpoints (C2SP tlog-checkpoint signed notes); also published outside the database.
audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", String(64), nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("key_id", String(8), nullable=False),
    Column("signed_checkpoint", Text, nullable=False),
    # RFC 6962 compact range (the roots of the perfect subtrees left of the edge), JSON list of
    # hex strings; lets the next checkpoint extend the tree without re-reading the whole log.
    Column("frontier", Text, nullable=False),
)

# From a child to every event that returned or showed them (a search's results, a view's
# child, any event whose subject is ``child:<id>``): "who looked at this child, when and why"
# is one indexed query (``audit.oversight.child_access``). Append-only like ``audit_event``;
# not part of the hash chain (each row points at a chained event, whose details name the
# children, so the index can be rebuilt and checked from the chain).
audit_child = Table(
    "audit_child",
    metadata,
    Column("child_id", String(16), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
)

APPEND_ONLY_TABLES: tuple[Table, ...] = (audit_event, audit_checkpoint, audit_child)
