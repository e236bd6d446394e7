"""Tampering with the stored trail, as a database superuser would (triggers off), on SQLite and
PostgreSQL: every class of damage makes `verify` fail and name the first bad entry, every time.

The chain is 12 entries with signed checkpoints at 4 and 8, published under ``tmp_path``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from contactpoint.audit import chain, store, trail
from contactpoint.audit.checkpoint import (
    checkpoint_path,
    checkpoint_text,
    create_checkpoint,
    load_verifier_key,
)
from contactpoint.audit.config import AuditConfig
from contactpoint.audit.keys import load_or_create_signing_key
from contactpoint.audit.verify import VerifyReport, verify
from contactpoint.db.engine import make_engine

SQLITE_TRIGGERS = (
    "audit_event_no_update",
    "audit_event_no_delete",
    "audit_checkpoint_no_update",
    "audit_checkpoint_no_delete",
    "audit_head_no_delete",
    "audit_head_forward_only",
)
TABLES = ("audit_event", "audit_checkpoint", "audit_head")
PG_TRIGGERS = [
    ("audit_event", "audit_event_append_only"),
    ("audit_event", "audit_event_no_truncate"),
    ("audit_checkpoint", "audit_checkpoint_append_only"),
    ("audit_checkpoint", "audit_checkpoint_no_truncate"),
    ("audit_head", "audit_head_guard"),
    ("audit_head", "audit_head_no_truncate"),
]


@dataclass
class Trail:
    url: str
    engine: Engine
    config: AuditConfig
    hashes: dict[int, str]

    def verify(self) -> VerifyReport:
        key = load_verifier_key(self.config)
        with self.engine.connect() as conn:
            first = verify(conn, key=key, checkpoint_dir=self.config.checkpoint_dir)
            again = verify(conn, key=key, checkpoint_dir=self.config.checkpoint_dir)
        assert (first.ok, first.first_bad, first.problem) == (
            again.ok,
            again.first_bad,
            again.problem,
        ), "verify must give the same answer every time"
        return first

    def tamper(self, *statements: str | tuple[str, dict[str, Any]]) -> None:
        """Run SQL with the append-only protections out of the way (superuser powers)."""
        with self.engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            for name in SQLITE_TRIGGERS if sqlite else ():
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
            for table in () if sqlite else TABLES:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            for statement in statements:
                sql, params = statement if isinstance(statement, tuple) else (statement, {})
                conn.execute(text(sql), params)
            for table, trigger in [] if sqlite else PG_TRIGGERS:
                conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}")


def _append(engine: Engine, first: int, last: int) -> dict[int, str]:
    hashes = {}
    with engine.begin() as conn:
        for i in range(first, last + 1):
            entry = trail.append(
                conn,
                action=trail.AuditAction.CHILD_VIEW,
                actor=f"user-{i}",
                organisation="LA001",
                reason="section 47 enquiry",
                request_id=f"req-{i:06d}",
                subject=f"child-{i}",
                details={"returned": [i]},
            )
            assert entry.seq == i
            hashes[i] = entry.entry_hash
    return hashes


@pytest.fixture
def built(fresh_db_url: str, tmp_path: Path) -> Iterator[Trail]:
    engine = make_engine(fresh_db_url)
    config = AuditConfig(tmp_path / "published", tmp_path / "secret" / "key.pem")
    hashes = _append(engine, 1, 4)
    assert create_checkpoint(engine, config) is not None
    hashes |= _append(engine, 5, 8)
    assert create_checkpoint(engine, config) is not None
    hashes |= _append(engine, 9, 12)
    built = Trail(fresh_db_url, engine, config, hashes)
    report = built.verify()
    assert report.ok, report.problem
    assert (report.entries, report.db_checkpoints, report.published_checkpoints) == (12, 2, 2)
    yield built
    engine.dispose()


def test_untouched_trail_verifies_and_warns_about_the_unsigned_tail(built: Trail) -> None:
    report = built.verify()
    assert report.ok
    assert report.head_hash == built.hashes[12]
    assert any("4 entries after the last checkpoint" in w for w in report.warnings)


def test_edited_field(built: Trail) -> None:
    built.tamper("UPDATE audit_event SET actor = 'mallory' WHERE seq = 6")
    report = built.verify()
    assert (report.ok, report.first_bad) == (False, 6)
    assert "entry_hash" in (report.problem or "")


def test_edited_details(built: Trail) -> None:
    built.tamper("""UPDATE audit_event SET details = '{"returned":[99]}' WHERE seq = 10""")
    assert (built.verify().first_bad, built.verify().ok) == (10, False)


def test_deleted_middle_row(built: Trail) -> None:
    built.tamper("DELETE FROM audit_event WHERE seq = 6")
    report = built.verify()
    assert (report.ok, report.first_bad) == (False, 6)
    assert "missing" in (report.problem or "")


def test_deleted_tail_is_caught_by_the_published_checkpoint(built: Trail) -> None:
    # The superuser deletes entries 7-12, rewinds the head row and removes the stored
    # checkpoints: only the copy published outside the database still knows about entry 8.
    built.tamper(
        "DELETE FROM audit_event WHERE seq >= 7",
        "DELETE FROM audit_checkpoint",
        ("UPDATE audit_head SET seq = 6, head_hash = :h", {"h": built.hashes[6]}),
    )
    report = built.verify()
    assert (report.ok, report.first_bad) == (False, 7)
    assert "tail truncated" in (report.problem or "")
    assert "published checkpoint-000000000008" in (report.problem or "")


def test_deleted_tail_after_the_last_checkpoint_is_caught_by_the_head_row(built: Trail) -> None:
    built.tamper("DELETE FROM audit_event WHERE seq >= 11")
    report = built.verify()
    assert (report.ok, report.first_bad) == (False, 11)
    assert "head row" in (report.problem or "")


def test_reordered_rows(built: Trail) -> None:
    built.tamper(
        "UPDATE audit_event SET seq = -5 WHERE seq = 5",
        "UPDATE audit_event SET seq = 5 WHERE seq = 6",
        "UPDATE audit_event SET seq = 6 WHERE seq = -5",
    )
    report = built.verify()
    assert (report.ok, report.first_bad) == (False, 5)


def _forged_row(seq: int, prev: str, digest: str) -> tuple[str, dict[str, Any]]:
    return (
        "INSERT INTO audit_event (seq, at, action, actor, organisation, reason, request_id, "
        "subject, details, prev_hash, entry_hash) VALUES (:seq, :at, 'record:child:view', "
        "'mallory', 'LA001', NULL, NULL, 'child-1', '{}', :prev, :digest)",
        {"seq": seq, "at": "2026-11-25 15:00:00.000000", "prev": prev, "digest": digest},
    )


def test_forged_row_at_the_tail(built: Trail) -> None:
    built.tamper(_forged_row(13, built.hashes[12], secrets.token_hex(32)))
    report = built.verify()
    assert (report.ok, report.first_bad) == (False, 13)


def test_forged_row_in_place_of_a_deleted_one(built: Trail) -> None:
    built.tamper(
        "DELETE FROM audit_event WHERE seq = 3",
        _forged_row(3, built.hashes[2], secrets.token_hex(32)),
    )
    report = built.verify()
    assert (report.ok, report.first_bad) == (False, 3)


def test_forged_row_appended_around_the_head_lock(built: Trail) -> None:
    # Correctly chained, but written behind the chain head's back.
    with built.engine.connect() as conn:
        rows = list(store.stream_rows(conn))
    last = rows[-1]
    fields = dict(zip(chain.ROW_COLUMNS[:9], last[:9], strict=True))
    fields |= {"seq": 13, "actor": "mallory", "at": chain.stored_time_text(last[1])}
    digest = chain.entry_hash(built.hashes[12], chain.canonical_entry(**fields))
    sql, params = _forged_row(13, built.hashes[12], digest)
    params["at"] = last[1]
    built.tamper(
        (
            sql.replace(
                "'mallory', 'LA001', NULL, NULL, 'child-1', '{}'",
                (":actor, :org, :reason, :rid, :subject, :details"),
            ),
            params
            | {
                "actor": "mallory",
                "org": fields["organisation"],
                "reason": fields["reason"],
                "rid": fields["request_id"],
                "subject": fields["subject"],
                "details": fields["details"],
            },
        )
    )
    report = built.verify()
    assert (report.ok, report.first_bad) == (False, 13)
    assert "beyond the chain head" in (report.problem or "")


def _rewrite_from(built: Trail, first: int) -> list[tuple[str, dict[str, Any]]]:
    """Statements that change entry ``first`` and re-hash the rest: a consistent chain."""
    with built.engine.connect() as conn:
        rows = list(store.stream_rows(conn))
    statements: list[tuple[str, dict[str, Any]]] = []
    prev = chain.GENESIS_HASH
    for row in rows:
        fields = dict(zip(chain.ROW_COLUMNS[:9], row[:9], strict=True))
        if fields["seq"] == first:
            fields["actor"] = "mallory"
        fields["at"] = chain.stored_time_text(fields["at"])
        digest = chain.entry_hash(prev, chain.canonical_entry(**fields))
        if fields["seq"] >= first:
            statements.append(
                (
                    "UPDATE audit_event SET actor = :actor, prev_hash = :prev, "
                    "entry_hash = :digest WHERE seq = :seq",
                    {"actor": fields["actor"], "prev": prev, "digest": digest, "seq": row[0]},
                )
            )
        prev = digest
    statements.append(("UPDATE audit_head SET head_hash = :h", {"h": prev}))
    return statements


def test_consistently_rewritten_chain_is_caught_by_the_signed_checkpoint(built: Trail) -> None:
    built.tamper(*_rewrite_from(built, 6))
    report = built.verify()
    assert (report.ok, report.first_bad) == (False, 5)
    assert "entries 5..8 differ from the signed checkpoint at size 8" in (report.problem or "")


def test_rewritten_chain_with_re_signed_checkpoints_is_caught(built: Trail, tmp_path: Path) -> None:
    # The superuser rewrites from entry 2 and replaces the stored checkpoints with ones signed
    # by a key of their own; the published checkpoints and the trusted key still catch it.
    forger = load_or_create_signing_key(tmp_path / "forger.pem", built.config.origin)
    statements: list[str | tuple[str, dict[str, Any]]] = [*_rewrite_from(built, 2)]
    statements.append("DELETE FROM audit_checkpoint")
    built.tamper(*statements)
    with built.engine.connect() as conn:
        rows = list(store.stream_rows(conn))
    note = forger.sign_note(checkpoint_text(built.config.origin, 4, b"\0" * 32, rows[3][-1], "t"))
    built.tamper(
        (
            "INSERT INTO audit_checkpoint (tree_size, root_hash, head_hash, created_at, key_id, "
            "signed_checkpoint, frontier) VALUES (4, :root, :head, :at, :kid, :note, '[]')",
            {
                "root": "00" * 32,
                "head": rows[3][-1],
                "at": rows[0][1],
                "kid": forger.verifier.key_id.hex(),
                "note": note,
            },
        )
    )
    report = built.verify()
    assert not report.ok
    assert "stored checkpoint at size 4" in (report.problem or "")
    built.tamper("DELETE FROM audit_checkpoint")
    report = built.verify()
    assert (report.ok, report.first_bad) == (False, 1)
    assert "published checkpoint-000000000004" in (report.problem or "")


def test_edited_published_checkpoint_is_refused(built: Trail) -> None:
    path = checkpoint_path(built.config.checkpoint_dir, 8)
    path.write_text(path.read_text().replace("\n8\n", "\n9\n"))
    report = built.verify()
    assert not report.ok
    assert "checkpoint-000000000008" in (report.problem or "")


def test_edited_stored_checkpoint_is_refused(built: Trail) -> None:
    built.tamper(
        ("UPDATE audit_checkpoint SET head_hash = :h WHERE tree_size = 8", {"h": "0" * 64})
    )
    report = built.verify()
    assert not report.ok
    assert "stored checkpoint at size 8" in (report.problem or "")


def test_sqlite_file_edited_in_place(built: Trail, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("a file edit is the SQLite way in")
    with built.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    built.engine.dispose()
    path = Path(make_url(built.url).database or "")
    data = path.read_bytes()
    assert data.count(b"req-000006") == 1
    path.write_bytes(data.replace(b"req-000006", b"req-000007"))
    report = built.verify()
    assert (report.ok, report.first_bad) == (False, 6)


def test_checkpoint_refuses_to_sign_a_broken_chain(built: Trail) -> None:
    _append(built.engine, 13, 14)
    built.tamper("UPDATE audit_event SET reason = NULL WHERE seq = 13")
    from contactpoint.errors import AuditChainBroken

    with pytest.raises(AuditChainBroken, match="entry 13"):
        create_checkpoint(built.engine, built.config)


def test_checkpoint_if_due_signs_only_when_enough_has_happened(built: Trail) -> None:
    from datetime import timedelta

    from contactpoint.audit.checkpoint import checkpoint_if_due

    assert checkpoint_if_due(built.engine, built.config, max_entries=5) is None  # 4 behind
    made = checkpoint_if_due(built.engine, built.config, max_entries=4)
    assert made is not None
    assert made.tree_size == 12
    assert checkpoint_if_due(built.engine, built.config, max_age=timedelta(0)) is None  # 0 behind
    _append(built.engine, 13, 13)
    assert checkpoint_if_due(built.engine, built.config, max_age=timedelta(0)) is not None


def test_without_the_verifier_key_the_chain_is_walked_but_the_run_fails(built: Trail) -> None:
    built.config.vkey_file.unlink()
    report = built.verify()
    assert not report.ok
    assert report.entries == 12
    assert "no verifier key" in (report.problem or "")
    built.tamper("DELETE FROM audit_event WHERE seq = 2")
    assert built.verify().first_bad == 2


# ---- review finding 3: missing evidence is a failure (the append-only witness) -------------


def _witnessed(built: Trail) -> VerifyReport:
    key = load_verifier_key(built.config)
    with built.engine.connect() as conn:
        return verify(conn, key=key, checkpoint_dir=built.config.checkpoint_dir,
                      witness_file=built.config.witness_file)


def _wipe_published_and_key(built: Trail) -> None:
    for path in built.config.checkpoint_dir.iterdir():
        path.unlink()
    built.config.key_file.unlink()


def test_the_witness_records_each_checkpoint(built: Trail) -> None:
    lines = built.config.witness_file.read_text().splitlines()
    assert len(lines) == 2
    assert oct(built.config.witness_file.stat().st_mode & 0o777) == "0o600"
    assert _witnessed(built).ok


def test_truncated_chain_without_key_or_checkpoints_fails(built: Trail) -> None:
    """The review's case: chain truncated below its last signed checkpoint, checkpoint rows
    deleted, checkpoint directory emptied, key gone. Without the witness it verified."""
    built.tamper(
        "DELETE FROM audit_event WHERE seq >= 7",
        "DELETE FROM audit_checkpoint",
        ("UPDATE audit_head SET seq = 6, head_hash = :h", {"h": built.hashes[6]}),
    )
    _wipe_published_and_key(built)
    assert built.verify().ok  # what the reviewer saw: "OK"
    report = _witnessed(built)
    assert not report.ok
    assert "no verifier key" in (report.problem or "")


def test_a_replaced_key_with_re_signed_checkpoints_fails(built: Trail) -> None:
    built.tamper(
        "DELETE FROM audit_event WHERE seq >= 7",
        "DELETE FROM audit_checkpoint",
        ("UPDATE audit_head SET seq = 6, head_hash = :h", {"h": built.hashes[6]}),
    )
    _wipe_published_and_key(built)
    assert create_checkpoint(built.engine, built.config) is not None  # a new key, a new story
    report = _witnessed(built)
    assert not report.ok
    assert "signing key was replaced" in (report.problem or "")


def test_a_chain_rewritten_and_re_signed_with_the_same_key_fails(built: Trail) -> None:
    """The superuser holds the key too: stored and published checkpoints are re-made, but the
    append-only witness still holds the roots signed before."""
    built.tamper(
        "DELETE FROM audit_event WHERE seq >= 7",
        "DELETE FROM audit_checkpoint",
        ("UPDATE audit_head SET seq = 6, head_hash = :h", {"h": built.hashes[6]}),
    )
    for path in built.config.checkpoint_dir.glob("checkpoint-*"):
        path.unlink()
    _append(built.engine, 7, 9)  # a different entry 7..9
    assert create_checkpoint(built.engine, built.config) is not None
    report = _witnessed(built)
    assert not report.ok
    assert "witness line 2" in (report.problem or "")


def test_deleted_checkpoint_rows_fail_even_with_published_copies(built: Trail) -> None:
    built.tamper("DELETE FROM audit_checkpoint")
    report = _witnessed(built)
    assert not report.ok
    assert "checkpoint rows were deleted" in (report.problem or "")


def test_a_missing_witness_for_a_checkpointed_chain_fails(built: Trail) -> None:
    built.config.witness_file.unlink()
    report = _witnessed(built)
    assert not report.ok
    assert "witness file" in (report.problem or "")


def test_the_latest_checkpoint_gone_everywhere_fails(built: Trail) -> None:
    built.tamper("DELETE FROM audit_checkpoint WHERE tree_size = 8")
    built.config.checkpoint_dir.joinpath("checkpoint-000000000008").unlink()
    report = _witnessed(built)
    assert not report.ok
