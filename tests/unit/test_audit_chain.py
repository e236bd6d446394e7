"""The chain's canonical form, entry hashes and the row-by-row walker (no database)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.audit import chain
from contactpoint.audit.merkle import leaf_hash, root_of
from contactpoint.errors import ValidationFailed

AT = datetime(2026, 11, 25, 15, 2, 31, 123456, tzinfo=UTC)

text_or_none = st.none() | st.text(max_size=20)


def _fields(seq: int = 1, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "seq": seq,
        "at": chain.canonical_time(AT),
        "action": "record:child:view",
        "actor": "user-1",
        "organisation": "LA001",
        "reason": "section 47 enquiry",
        "request_id": "req-1",
        "subject": "child-1",
        "details": chain.canonical_details({"returned": [3, 1], "query": {"name": "Ó"}}),
    }
    fields.update(overrides)
    return fields


def _build(n: int) -> list[tuple[Any, ...]]:
    """Stored rows (as SQLite would return them) of a valid chain of ``n`` entries."""
    rows, prev = [], chain.GENESIS_HASH
    for seq in range(1, n + 1):
        at = AT + timedelta(seconds=seq)
        fields = _fields(seq, at=chain.canonical_time(at), subject=f"child-{seq}")
        digest = chain.entry_hash(prev, chain.canonical_entry(**fields))
        stored_at = at.replace(tzinfo=None).isoformat(" ", "microseconds")
        rows.append((seq, stored_at, *(fields[c] for c in chain.ROW_COLUMNS[2:9]), prev, digest))
        prev = digest
    return rows


def test_genesis_is_a_fixed_published_value() -> None:
    assert hashlib.sha256(b"contactpoint:audit:genesis:v1").hexdigest() == chain.GENESIS_HASH


@given(
    seq=st.integers(min_value=1, max_value=2**62),
    actor=text_or_none,
    organisation=text_or_none,
    reason=text_or_none,
    request_id=text_or_none,
    subject=text_or_none,
    action=st.text(min_size=1, max_size=30),
    details=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5)),
)
def test_canonical_entry_is_sorted_key_compact_json(
    seq: int,
    actor: str | None,
    organisation: str | None,
    reason: str | None,
    request_id: str | None,
    subject: str | None,
    action: str,
    details: dict[str, Any],
) -> None:
    fields = _fields(
        seq,
        actor=actor,
        organisation=organisation,
        reason=reason,
        request_id=request_id,
        subject=subject,
        action=action,
        details=chain.canonical_details(details),
    )
    expected = json.dumps(
        {**fields, "v": chain.FORMAT_VERSION},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    assert chain.canonical_entry(**fields) == expected
    assert json.loads(json.loads(expected)["details"]) == details


def test_canonical_details_sorts_keys_and_serialises_times_and_dates() -> None:
    text = chain.canonical_details(
        {"b": 1, "a": {"d": date(2015, 3, 1), "c": AT.astimezone(timezone(timedelta(hours=1)))}}
    )
    assert text == '{"a":{"c":"2026-11-25T15:02:31.123456Z","d":"2015-03-01"},"b":1}'


@pytest.mark.parametrize("bad", [{"x": object()}, {"x": float("nan")}, {"x": datetime(2026, 1, 1)}])
def test_canonical_details_refuses_what_it_cannot_serialise_exactly(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        chain.canonical_details(bad)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        chain.canonical_time(datetime(2026, 1, 1, 12, 0))


def test_entry_hash_chains_the_previous_hash() -> None:
    canonical = chain.canonical_entry(**_fields())
    digest = chain.entry_hash(chain.GENESIS_HASH, canonical)
    assert digest == hashlib.sha256(bytes.fromhex(chain.GENESIS_HASH) + canonical).hexdigest()
    assert chain.entry_hash("00" * 32, canonical) != digest


def test_stored_time_text_accepts_only_the_canonical_spelling() -> None:
    assert chain.stored_time_text("2026-11-25 15:02:31.123456") == "2026-11-25T15:02:31.123456Z"
    assert chain.stored_time_text(AT) == "2026-11-25T15:02:31.123456Z"
    for spelling in ("2026-11-25T15:02:31.123456", "2026-11-25 15:02:31", "garbage"):
        with pytest.raises(ValueError):  # noqa: PT011
            chain.stored_time_text(spelling)


def test_walker_accepts_a_good_chain_and_builds_the_merkle_root() -> None:
    rows = _build(9)
    walker = chain.ChainWalker()
    assert all(walker.feed(row) is None for row in rows)
    assert walker.size == 9
    assert walker.head_hash == rows[-1][-1]
    leaves = []
    for row in rows:
        fields = dict(zip(chain.ROW_COLUMNS[:9], row[:9], strict=True))
        fields["at"] = chain.stored_time_text(fields["at"])
        leaves.append(leaf_hash(chain.canonical_entry(**fields)))
    assert walker.tree.root() == root_of(leaves)


def _first_problem(rows: list[tuple[Any, ...]]) -> tuple[int, str] | None:
    walker = chain.ChainWalker()
    for row in rows:
        problem = walker.feed(row)
        if problem is not None:
            return walker.size + 1, problem
    return None


def test_walker_names_the_first_bad_entry_for_each_kind_of_damage() -> None:
    rows = _build(6)
    edited = [*rows]
    edited[3] = (*rows[3][:3], "someone-else", *rows[3][4:])
    assert _first_problem(edited) == (4, chain_problem("entry_hash"))
    assert _first_problem(rows[:2] + rows[3:]) == (3, "entry 3 is missing (next stored entry is 4)")
    swapped = [*rows]
    swapped[1], swapped[2] = (3, *rows[1][1:]), (2, *rows[2][1:])
    swapped.sort(key=lambda r: r[0])
    bad = _first_problem(swapped)
    assert bad is not None
    assert bad[0] == 2


def chain_problem(word: str) -> str:
    return {
        "entry_hash": "entry_hash does not match the entry's contents (a field was changed)",
    }[word]


@given(
    index=st.integers(min_value=0, max_value=4),
    column=st.sampled_from(range(1, 11)),
    new=st.text(max_size=12) | st.none(),
)
def test_any_single_field_change_breaks_the_chain_at_that_entry(
    index: int, column: int, new: str | None
) -> None:
    rows = _build(5)
    row = list(rows[index])
    if row[column] == new:
        return
    row[column] = new
    rows[index] = tuple(row)
    bad = _first_problem(rows)
    assert bad is not None
    # A changed prev_hash is caught at this entry; every other field too.
    assert bad[0] == index + 1
