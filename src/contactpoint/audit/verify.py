"""Verify the audit trail end to end: every link, every checkpoint, the published copies.

One streaming pass over the chain checks each entry's sequence number, ``prev_hash`` and
``entry_hash``, and rebuilds the RFC 6962 tree; at every tree size that has a signed checkpoint
(stored in the database or published in the checkpoint directory) the root and head must match
the signed ones. Afterwards the chain must be at least as long as every signed checkpoint (tail
truncation) and agree with the head row. The first problem found is reported with the sequence
number of the first bad entry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection

from contactpoint.audit import store, witness
from contactpoint.audit.chain import ChainWalker
from contactpoint.audit.checkpoint import Checkpoint, open_checkpoint, read_published
from contactpoint.audit.keys import VerifierKey
from contactpoint.errors import ValidationFailed


@dataclass
class VerifyReport:
    ok: bool = True
    entries: int = 0
    head_hash: str = ""
    root_hex: str = ""
    db_checkpoints: int = 0
    published_checkpoints: int = 0
    first_bad: int | None = None
    problem: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def fail(self, first_bad: int | None, problem: str) -> VerifyReport:
        self.ok = False
        self.first_bad = first_bad
        self.problem = problem
        return self

    def summary(self) -> str:
        if self.ok:
            return (
                f"audit trail OK: {self.entries} entries, head {self.head_hash[:16]}…, "
                f"root {self.root_hex[:16]}…, {self.db_checkpoints} stored and "
                f"{self.published_checkpoints} published checkpoints verified "
                f"({self.seconds:.1f} s)"
            )
        where = f"entry {self.first_bad}" if self.first_bad is not None else "checkpoints"
        return f"audit trail BROKEN at {where}: {self.problem}"


@dataclass(frozen=True)
class _Expected:
    checkpoint: Checkpoint
    source: str


def _collect_checkpoints(
    conn: Connection, key: VerifierKey | None, directory: Path | None, report: VerifyReport
) -> dict[int, list[_Expected]] | None:
    """Signed checkpoints by tree size; ``None`` after recording a failure in ``report``."""
    rows = store.checkpoint_rows(conn)
    published = read_published(directory, key) if directory is not None and key else []
    if key is None:
        report.warnings.append("no verifier key: no checkpoint could be checked")
        if rows:  # the chain is still walked; the run fails at the end (see verify)
            report.db_checkpoints = len(rows)
        return {}
    expected: dict[int, list[_Expected]] = {}
    for row in rows:
        try:
            checkpoint = open_checkpoint(row.signed_checkpoint, key)
        except ValidationFailed as exc:
            report.fail(None, f"stored checkpoint at size {row.tree_size}: {exc.message}")
            return None
        if (checkpoint.tree_size, checkpoint.root_hex, checkpoint.head_hash) != (
            row.tree_size,
            row.root_hash,
            row.head_hash,
        ):
            report.fail(None, f"stored checkpoint at size {row.tree_size}: columns ≠ signed note")
            return None
        expected.setdefault(checkpoint.tree_size, []).append(_Expected(checkpoint, "stored"))
    report.db_checkpoints = len(rows)
    stored_sizes = set(expected)
    for path, item in published:
        if isinstance(item, str):
            report.fail(None, f"published checkpoint {path.name}: {item}")
            return None
        expected.setdefault(item.tree_size, []).append(_Expected(item, f"published {path.name}"))
        if item.tree_size not in stored_sizes:
            report.warnings.append(f"published checkpoint {item.tree_size} is not in the database")
    report.published_checkpoints = len(published)
    published_sizes = {item.tree_size for _, item in published if not isinstance(item, str)}
    if directory is not None:
        unpublished = sorted(stored_sizes - published_sizes)
        if unpublished:
            report.warnings.append(
                f"{len(unpublished)} stored checkpoint(s) not published (run `audit checkpoint`)"
            )
    if not expected:
        report.warnings.append("no checkpoints: tail truncation or a rewrite cannot be detected")
    return expected


def _witness_evidence(
    witness_file: Path,
    key: VerifierKey | None,
    expected: dict[int, list[_Expected]],
    report: VerifyReport,
) -> str | None:
    """Hold the chain to the append-only witness (review finding 3): what must be present
    for a chain that was ever checkpointed. Returns the problem, or None. Missing evidence
    is a failure, never a warning. Every witnessed (size, root, head) becomes one more
    checkpoint the chain must reproduce."""
    try:
        lines = witness.read_all(witness_file)
    except ValidationFailed as exc:
        return exc.message
    if not lines:
        if report.db_checkpoints or report.published_checkpoints:
            return (
                f"checkpoints exist but the witness file {witness_file} is missing or empty: "
                "restore it from its off-host copy"
            )
        report.warnings.append(
            f"no witness file ({witness_file}): nothing records that this chain was ever "
            "checkpointed"
        )
        return None
    seen = lines[-1]
    if key is None:
        return (
            f"no verifier key was found, and the witness records {seen.checkpoints} "
            f"checkpoint(s) signed by key {seen.key_id} (pass --key FILE)"
        )
    keys = {line.key_id for line in lines}
    if keys != {key.key_id.hex()}:
        return (
            f"the verifier key is {key.key_id.hex()}, the witness records key(s) "
            f"{', '.join(sorted(keys))}: the signing key was replaced"
        )
    if report.db_checkpoints < seen.checkpoints:
        return (
            f"the witness records {seen.checkpoints} checkpoints, the database holds "
            f"{report.db_checkpoints}: checkpoint rows were deleted"
        )
    if seen.tree_size not in expected:
        return (
            f"the latest checkpoint the witness records (size {seen.tree_size}) is neither "
            "stored nor published"
        )
    for number, line in enumerate(lines, start=1):
        expected.setdefault(line.tree_size, []).append(
            _Expected(
                Checkpoint("", line.tree_size, bytes.fromhex(line.root_hex), line.head_hash,
                           line.time, ""),
                f"witness line {number}",
            )
        )
    return None


def verify(
    conn: Connection,
    *,
    key: VerifierKey | None,
    checkpoint_dir: Path | None,
    batch: int = 20_000,
    witness_file: Path | None = None,
) -> VerifyReport:
    """Check the whole trail; never raises for a broken chain (see ``report.ok``).

    With ``witness_file`` (the CLI always passes it) the chain is also held to the witness.
    """
    started = time.perf_counter()
    report = VerifyReport()
    expected = _collect_checkpoints(conn, key, checkpoint_dir, report)
    if expected is not None and witness_file is not None:
        problem = _witness_evidence(witness_file, key, expected, report)
        if problem is not None:
            report.fail(None, problem)
            expected = None
    if expected is None:
        report.seconds = time.perf_counter() - started
        return report
    sizes = sorted(expected)
    walker = ChainWalker()
    feed = walker.feed
    pos = 0
    last_good = 0
    if sizes and sizes[0] == 0:  # a checkpoint of the empty log
        if not _match(expected[0], walker, report, 0):
            return _finish(report, walker, started)
        pos = 1
    next_size = sizes[pos] if pos < len(sizes) else -1
    for row in store.stream_rows(conn, batch=batch):
        problem = feed(row)
        if problem is not None:
            report.fail(walker.size + 1, problem)
            return _finish(report, walker, started)
        if walker.size == next_size:
            if not _match(expected[next_size], walker, report, last_good):
                return _finish(report, walker, started)
            last_good = next_size
            pos += 1
            next_size = sizes[pos] if pos < len(sizes) else -1
    report.entries = walker.size
    report.head_hash = walker.head_hash
    report.root_hex = walker.tree.root().hex()
    report.seconds = time.perf_counter() - started
    if sizes and sizes[-1] > walker.size:
        sources = ", ".join(e.source for e in expected[sizes[-1]])
        return report.fail(
            walker.size + 1,
            f"tail truncated: signed checkpoint ({sources}) covers {sizes[-1]} entries, "
            f"the chain holds {walker.size}",
        )
    head = store.head_row(conn)
    if head is None:
        return report.fail(walker.size + 1, "chain head row is missing")
    head_seq, head_hash = head
    if head_seq > walker.size:
        return report.fail(
            walker.size + 1,
            f"tail truncated: the head row records {head_seq} entries, the chain holds "
            f"{walker.size}",
        )
    if head_seq < walker.size:
        return report.fail(head_seq + 1, "entries beyond the chain head row (appended around it)")
    if head_hash != walker.head_hash:
        return report.fail(walker.size, "chain head row hash ≠ hash of the last entry")
    if key is None and report.db_checkpoints:
        report.db_checkpoints = 0
        return report.fail(
            None,
            "the chain links are intact, but checkpoints are stored and no verifier key "
            "was found to check them (pass --key or publish audit-log.vkey)",
        )
    if sizes and sizes[-1] < walker.size:
        report.warnings.append(
            f"{walker.size - sizes[-1]} entries after the last checkpoint are protected by "
            "database controls only until the next checkpoint"
        )
    return report


def _finish(report: VerifyReport, walker: ChainWalker, started: float) -> VerifyReport:
    report.entries = walker.size
    report.seconds = time.perf_counter() - started
    return report


def _match(
    candidates: list[_Expected], walker: ChainWalker, report: VerifyReport, last_good: int
) -> bool:
    """Compare the walker's state with every signed checkpoint at its size."""
    root = walker.tree.root()
    for candidate in candidates:
        checkpoint = candidate.checkpoint
        if checkpoint.root != root or checkpoint.head_hash != walker.head_hash:
            report.fail(
                last_good + 1,
                f"entries {last_good + 1}..{walker.size} differ from the signed checkpoint at "
                f"size {walker.size} ({candidate.source}): the chain was rewritten after it "
                "was signed",
            )
            return False
    return True
