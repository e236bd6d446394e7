"""``chain.canonical_parts``: the canonical entry split around its sequence number, which the
PostgreSQL append completes and hashes server-side (ADR 0006). Checked against the format's
definition (sorted-key compact JSON), not against the code that builds it."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from contactpoint.audit import chain

_text = st.one_of(st.none(), st.text(max_size=40))


@given(seq=st.integers(min_value=1, max_value=10**15), actor=_text, reason=_text,
       subject=_text, details=st.text(max_size=60))
def test_parts_around_the_sequence_number_make_the_canonical_entry(
    seq: int, actor: str | None, reason: str | None, subject: str | None, details: str
) -> None:
    at, action, organisation = "2026-12-06T23:00:00.000001Z", "record:child:search", "LA001"
    before, after = chain.canonical_parts(
        at=at, action=action, actor=actor, organisation=organisation, reason=reason,
        request_id=None, subject=subject, details=details)
    definition = json.dumps(
        {"action": action, "actor": actor, "at": at, "details": details,
         "organisation": organisation, "reason": reason, "request_id": None, "seq": seq,
         "subject": subject, "v": chain.FORMAT_VERSION},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert before + str(seq).encode() + after == definition
