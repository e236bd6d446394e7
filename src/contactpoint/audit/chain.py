"""The hash chain, as pure functions: canonical serialisation and entry hashes.

An entry's canonical form is sorted-key, compact JSON (UTF-8, no ASCII escaping) of::

    {"action", "actor", "at", "details", "organisation", "reason", "request_id", "seq",
     "subject", "v"}

with ``at`` as UTC ISO-8601 to the microsecond (``2026-11-25T15:02:31.123456Z``) and ``details``
a JSON *string* holding the canonical JSON text of the event's details, exactly as stored (so
every field is JSON-string-encoded, and no change to one field can be hidden in another). Then::

    entry_hash(n) = SHA-256(bytes(entry_hash(n-1)) || canonical(n))
    entry_hash(0) = GENESIS_HASH = SHA-256(b"contactpoint:audit:genesis:v1")

Hashes are stored as lowercase hex. No database code here.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from contactpoint.errors import ValidationFailed

FORMAT_VERSION = 1
GENESIS_HASH = hashlib.sha256(b"contactpoint:audit:genesis:v1").hexdigest()

_encode_str = json.encoder.encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses


def _encode(value: str | None) -> str:
    """JSON text of a string or null, exactly as ``json.dumps(value, ensure_ascii=False)``."""
    return "null" if value is None else _encode_str(value)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in audit details")
        return canonical_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"not JSON-serialisable in audit details: {type(value).__name__}")


_canonical_encoder = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True, default=_default
)


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """Sorted-key compact JSON of the details mapping (``{}`` when there are none)."""
    try:
        return _canonical_encoder.encode(dict(details or {}))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"audit details cannot be serialised: {exc}") from exc


def canonical_time(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValidationFailed("audit times must be timezone-aware")
    # isoformat always zero-pads the year and, with timespec, always prints 6 digits.
    return at.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def canonical_parts(
    *,
    at: str,
    action: str,
    actor: str | None,
    organisation: str | None,
    reason: str | None,
    request_id: str | None,
    subject: str | None,
    details: str,
) -> tuple[bytes, bytes]:
    """The canonical entry's bytes before and after its sequence number: ``canonical_entry``
    is ``before + str(seq) + after``. Lets the database finish an entry (and its hash) under
    the chain-head lock with no round trip to Python (``audit.trail``, PostgreSQL)."""
    e = _encode
    before = (
        f'{{"action":{e(action)},"actor":{e(actor)},"at":{e(at)},"details":{e(details)},'
        f'"organisation":{e(organisation)},"reason":{e(reason)},"request_id":{e(request_id)},'
        f'"seq":'
    )
    after = f',"subject":{e(subject)},"v":{FORMAT_VERSION}}}'
    return before.encode(), after.encode()


def canonical_entry(
    *,
    seq: int,
    at: str,
    action: str,
    actor: str | None,
    organisation: str | None,
    reason: str | None,
    request_id: str | None,
    subject: str | None,
    details: str,
) -> bytes:
    """The exact bytes that are hashed: ``json.dumps(fields, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)``, written out for speed."""
    before, after = canonical_parts(
        at=at, action=action, actor=actor, organisation=organisation, reason=reason,
        request_id=request_id, subject=subject, details=details)
    return before + str(int(seq)).encode() + after


def entry_hash(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical).hexdigest()


def stored_time_text(raw: Any) -> str:
    """Canonical time text of a stored ``at`` value, as the driver returned it.

    PostgreSQL returns an aware ``datetime``; SQLite returns the text SQLAlchemy wrote
    (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC). Text in any other spelling is refused, so a change
    to the stored bytes can never pass for the same instant.
    """
    if isinstance(raw, datetime):
        if raw.tzinfo is None:
            raw = raw.replace(tzinfo=UTC)
        return canonical_time(raw)
    if isinstance(raw, str):
        parsed = datetime.fromisoformat(raw)
        if parsed.tzinfo is not None or parsed.isoformat(" ", "microseconds") != raw:
            raise ValueError("time is not stored in the canonical form")
        return f"{raw[:10]}T{raw[11:]}Z"
    raise ValueError(f"time stored as {type(raw).__name__}")


# A stored row as the driver returns it, in this column order:
ROW_COLUMNS = (
    "seq", "at", "action", "actor", "organisation", "reason", "request_id", "subject",
    "details", "prev_hash", "entry_hash",
)  # fmt: skip


class ChainWalker:
    """Checks stored rows one by one, in sequence order, against the chain rules.

    :meth:`feed` returns ``None`` for a good row, else what is wrong with it. The walker also
    feeds each canonical entry into an RFC 6962 tree (see :mod:`contactpoint.audit.merkle`).
    """

    __slots__ = ("_head_bytes", "head_hash", "size", "tree")

    def __init__(self, size: int = 0, head_hash: str = GENESIS_HASH, tree: Any = None) -> None:
        from contactpoint.audit.merkle import CompactRange

        self.size = size
        self.head_hash = head_hash
        self._head_bytes = bytes.fromhex(head_hash)
        self.tree: CompactRange = tree if tree is not None else CompactRange()
        if self.tree.size != size:
            raise ValueError("walker: tree size and chain size differ")

    def feed(self, row: Sequence[Any]) -> str | None:
        seq, at, action, actor, organisation, reason, request_id, subject, details, prev, digest = (
            row
        )
        expected = self.size + 1
        if type(seq) is not int:
            return f"sequence number is not an integer ({type(seq).__name__})"
        if seq != expected:
            if seq > expected:
                return f"entry {expected} is missing (next stored entry is {seq})"
            return f"sequence number {seq} out of order (expected {expected})"
        if prev != self.head_hash:
            return "prev_hash does not match the hash of the entry before it"
        try:
            at_text = (
                at.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"
                if type(at) is datetime and at.tzinfo is not None
                else stored_time_text(at)
            )
        except ValueError as exc:
            return f"stored time is malformed: {exc}"
        # canonical_entry(), inlined: this loop runs once per entry of the whole log.
        enc = _encode_str
        try:
            canonical = (
                f'{{"action":{enc(action)},'
                f'"actor":{"null" if actor is None else enc(actor)},'
                f'"at":"{at_text}",'
                f'"details":{enc(details)},'
                f'"organisation":{"null" if organisation is None else enc(organisation)},'
                f'"reason":{"null" if reason is None else enc(reason)},'
                f'"request_id":{"null" if request_id is None else enc(request_id)},'
                f'"seq":{seq},'
                f'"subject":{"null" if subject is None else enc(subject)},'
                f'"v":{FORMAT_VERSION}}}'
            ).encode()
        except TypeError:
            return "a stored field has the wrong type"
        computed = hashlib.sha256(self._head_bytes + canonical).digest()
        if computed.hex() != digest:
            return "entry_hash does not match the entry's contents (a field was changed)"
        self.tree.append(canonical)
        self.size = seq
        self.head_hash = digest
        self._head_bytes = computed
        return None
