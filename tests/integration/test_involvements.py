"""Practitioner-recorded involvements on SQLite and PostgreSQL: record, change, cease; who may
see and manage them; their audit entries; merges and unmerges; organisations' feed codes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Connection, func, select

from children import NOW, add_child, add_record
from contactpoint.access.models import AuditContext
from contactpoint.access.testing import FakeClock, make_org, make_service, make_user
from contactpoint.audit import trail
from contactpoint.audit.tables import audit_event
from contactpoint.audit.trail import AuditAction
from contactpoint.domain.record import (
    AssessmentStatus,
    ConsentBasis,
    InvolvementStatus,
    ServiceType,
)
from contactpoint.errors import Conflict, NotFound, ValidationFailed
from contactpoint.involvement import orgcodes, queries, service
from contactpoint.involvement.orgcodes import FeedCodeKind
from contactpoint.involvement.queries import InvolvementOrigin
from contactpoint.involvement.service import Details, Practitioner
from contactpoint.involvement.tables import involvement
from contactpoint.linking import history

TODAY = NOW.date()
CTX = AuditContext("test:setup", None, None)


def practitioner(conn: Connection, org: str | None = None) -> Practitioner:
    access = make_service(conn, FakeClock(NOW))
    org = org or make_org(access)
    account = make_user(access, org)
    user = access.user(account.username)
    return Practitioner(user.id, user.actor, org, "req-1")


def searched(conn: Connection, who: Practitioner, child_id: str, *,
             at: object = None) -> None:
    """``who``'s search returned ``child_id`` (as the search service audits it)."""
    trail.append(conn, action=AuditAction.CHILD_SEARCH, actor=who.actor,
                 organisation=who.org_code, reason="test", details={"results": [child_id]},
                 at=at or NOW - timedelta(minutes=5))  # type: ignore[arg-type]


def social_work(**more: object) -> Details:
    values: dict[str, object] = {
        "service_type": ServiceType.SOCIAL_CARE, "practitioner_name": "Sam Patel",
        "practitioner_role": "Social Worker", "practitioner_phone": "0113 496 0000",
        "practitioner_email": "sam.patel@leeds.gov.uk", "start": date(2026, 9, 1), **more}
    return Details(**values)  # type: ignore[arg-type]


def events(conn: Connection, child_id: str) -> list[str]:
    return [e.action for e in trail.for_subject(conn, f"child:{child_id}")
            if e.action.startswith("record:involvement")]


def test_record_change_and_cease_each_append_an_audit_entry(connection: Connection) -> None:
    _, child_id = add_child(connection)
    who = practitioner(connection)
    searched(connection, who, child_id)
    made = service.record(connection, who, child_id, social_work(), now=NOW)
    assert made.status is InvolvementStatus.CURRENT
    assert made.org_code == who.org_code
    changed = service.change(connection, who, child_id, made.id,
                             {"assessment_status": AssessmentStatus.IN_PROGRESS,
                              "lead_professional": True}, now=NOW)
    assert changed.details.assessment_status is AssessmentStatus.IN_PROGRESS
    assert changed.details.lead_professional
    ceased = service.cease(connection, who, child_id, made.id, now=NOW)
    assert ceased.status is InvolvementStatus.CEASED
    assert ceased.details.end == TODAY
    assert events(connection, child_id) == [
        AuditAction.INVOLVEMENT_RECORD, AuditAction.INVOLVEMENT_UPDATE,
        AuditAction.INVOLVEMENT_CEASE]
    update = next(e for e in trail.for_subject(connection, f"child:{child_id}")
              if e.action == AuditAction.INVOLVEMENT_UPDATE)
    assert update.actor == who.actor
    assert update.organisation == who.org_code
    assert update.request_id == "req-1"
    assert update.details["fields"] == ["assessment_status", "lead_professional"]
    assert "Sam Patel" not in str(update.details)  # the trail names fields, not contacts
    with pytest.raises(Conflict):
        service.change(connection, who, child_id, made.id, {"practitioner_role": "x"}, now=NOW)
    with pytest.raises(Conflict):
        service.cease(connection, who, child_id, made.id, now=NOW)


def test_an_unchanged_change_writes_nothing(connection: Connection) -> None:
    _, child_id = add_child(connection)
    who = practitioner(connection)
    searched(connection, who, child_id)
    made = service.record(connection, who, child_id, social_work(), now=NOW)
    service.change(connection, who, child_id, made.id, {"practitioner_name": "Sam  Patel "},
                   now=NOW)
    assert events(connection, child_id) == [AuditAction.INVOLVEMENT_RECORD]


def test_a_rolled_back_change_leaves_no_audit_entry(connection: Connection) -> None:
    _, child_id = add_child(connection)
    who = practitioner(connection)
    searched(connection, who, child_id)
    before = connection.execute(select(func.count()).select_from(audit_event)).scalar_one()
    savepoint = connection.begin_nested()
    service.record(connection, who, child_id, social_work(), now=NOW)
    assert events(connection, child_id) == [AuditAction.INVOLVEMENT_RECORD]
    savepoint.rollback()
    assert events(connection, child_id) == []
    assert connection.execute(select(func.count()).select_from(involvement)).scalar_one() == 0
    assert connection.execute(
        select(func.count()).select_from(audit_event)).scalar_one() == before
    # and a refused change (validation after the lookup) appends nothing either
    made = service.record(connection, who, child_id, social_work(), now=NOW)
    with pytest.raises(ValidationFailed):
        service.change(connection, who, child_id, made.id, {"end": date(2020, 1, 1)}, now=NOW)
    assert events(connection, child_id) == [AuditAction.INVOLVEMENT_RECORD]


def test_colleagues_manage_and_other_organisations_get_not_found(
    connection: Connection,
) -> None:
    _, child_id = add_child(connection)
    who = practitioner(connection)
    colleague = practitioner(connection, who.org_code)
    stranger = practitioner(connection)
    searched(connection, who, child_id)
    searched(connection, stranger, child_id)
    made = service.record(connection, who, child_id, social_work(), now=NOW)
    # the colleague sees and manages it without a search of their own
    assert [r.id for r in service.organisation_involvements(connection, colleague, child_id)] \
        == [made.id]
    service.change(connection, colleague, child_id, made.id,
                   {"practitioner_phone": "0113 496 0001"}, now=NOW)
    # another organisation: the same refusal as an id that does not exist
    refusals = []
    for attempt in (
        lambda: service.get(connection, stranger, child_id, made.id),
        lambda: service.change(connection, stranger, child_id, made.id,
                               {"lead_professional": True}, now=NOW),
        lambda: service.cease(connection, stranger, child_id, made.id, now=NOW),
        lambda: service.organisation_involvements(connection, stranger, child_id),
        lambda: service.get(connection, who, child_id, made.id + 1000),
        lambda: service.get(connection, who, "000000000000", made.id),
        lambda: service.record(connection, who, "123", social_work(), now=NOW),
    ):
        with pytest.raises(NotFound) as caught:
            attempt()
        refusals.append(caught.value.message)
    assert set(refusals) == {service.NOT_FOUND}
    # an involvement of another child, asked for under this child's id: not found either
    _, other_child = add_child(connection)
    searched(connection, who, other_child)
    elsewhere = service.record(connection, who, other_child, social_work(), now=NOW)
    with pytest.raises(NotFound):
        service.get(connection, who, child_id, elsewhere.id)
    ceased = service.cease(connection, colleague, child_id, made.id, now=NOW)
    assert ceased.status is InvolvementStatus.CEASED


def test_recording_needs_a_recent_own_search_or_an_involved_organisation(
    connection: Connection,
) -> None:
    _, child_id = add_child(connection)
    who = practitioner(connection)
    colleague = practitioner(connection, who.org_code)
    other = practitioner(connection)
    searched(connection, other, child_id)  # someone else's search does not count
    searched(connection, who, child_id, at=NOW - timedelta(hours=25))  # nor a stale one
    with pytest.raises(NotFound) as caught:
        service.record(connection, who, child_id, social_work(), now=NOW)
    assert caught.value.message == service.NOT_FOUND
    trail.append(connection, action=AuditAction.CHILD_SEARCH, actor=who.actor,
                 organisation=who.org_code, details={"shown": [f"child:{child_id}"]}, at=NOW)
    service.record(connection, who, child_id, social_work(), now=NOW)
    # once the organisation is involved, a colleague records without a search
    service.record(connection, colleague, child_id,
                   social_work(service_type=ServiceType.HEALTH_VISITOR), now=NOW)


def test_a_sensitive_service_needs_a_consent_basis(connection: Connection) -> None:
    _, child_id = add_child(connection)
    who = practitioner(connection)
    searched(connection, who, child_id)
    with pytest.raises(ValidationFailed, match="consent_basis"):
        service.record(connection, who, child_id,
                       social_work(service_type=ServiceType.CAMHS), now=NOW)
    with pytest.raises(ValidationFailed, match="consent_basis"):
        service.record(connection, who, child_id, social_work(sensitive=True), now=NOW)
    with pytest.raises(ValidationFailed, match="only to a sensitive"):
        service.record(connection, who, child_id,
                       social_work(consent_basis=ConsentBasis.CONSENT), now=NOW)
    made = service.record(connection, who, child_id, social_work(
        service_type=ServiceType.SEXUAL_HEALTH, consent_basis=ConsentBasis.CONSENT), now=NOW)
    assert made.details.sensitive
    with pytest.raises(ValidationFailed, match="consent_basis"):
        service.change(connection, who, child_id, made.id,
                       {"consent_basis": ConsentBasis.NOT_GIVEN}, now=NOW)
    with pytest.raises(ValidationFailed, match="practitioner_email"):
        service.record(connection, who, child_id, social_work(practitioner_email="nope"),
                       now=NOW)
    with pytest.raises(ValidationFailed, match="practitioner_name"):
        service.record(connection, who, child_id, social_work(practitioner_name="  "),
                       now=NOW)


def test_merge_shows_the_absorbed_childs_involvements_and_unmerge_takes_them_back(
    connection: Connection,
) -> None:
    ra, rb = add_record(connection), add_record(connection, srid="B1", given="Aimee")
    ka, a_id = add_child(connection, ra)
    kb, b_id = add_child(connection, rb)
    who = practitioner(connection)
    searched(connection, who, b_id)
    on_b = service.record(connection, who, b_id, social_work(), now=NOW)
    survivor = history.merge(connection, ka, kb, actor="t", now=NOW)
    assert survivor.key == ka  # the older child survives; B's involvement follows it
    assert [c.id for c in queries.current_involvements(connection, ka, today=TODAY)] \
        == [on_b.id]
    assert queries.organisation_involved(connection, ka, who.org_code, today=TODAY)
    # the merged id answers with the survivor, and manages the same involvement
    assert service.get(connection, who, b_id, on_b.id).child_id == a_id
    assert service.get(connection, who, a_id, on_b.id).id == on_b.id
    on_a = service.record(connection, who, a_id,
                          social_work(service_type=ServiceType.SCHOOL_NURSE), now=NOW)
    restored = history.unmerge(connection, ka, [rb], actor="t", reason="error", now=NOW)
    assert restored.key == kb
    assert [c.id for c in queries.current_involvements(connection, kb, today=TODAY)] \
        == [on_b.id]
    assert [c.id for c in queries.current_involvements(connection, ka, today=TODAY)] \
        == [on_a.id]
    with pytest.raises(NotFound):
        service.get(connection, who, a_id, on_b.id)
    assert service.get(connection, who, b_id, on_b.id).child_id == b_id


def test_merge_chains_are_followed(connection: Connection) -> None:
    ka, _ = add_child(connection)
    kb, b_id = add_child(connection, add_record(connection, srid="C2"))
    kc, _ = add_child(connection, add_record(connection, srid="C3"))
    who = practitioner(connection)
    searched(connection, who, b_id)
    made = service.record(connection, who, b_id, social_work(), now=NOW)
    history.merge(connection, kb, kc, now=NOW)  # c into b
    history.merge(connection, ka, kb, now=NOW)  # b into a
    assert queries.merged_keys(connection, ka) == sorted([ka, kb, kc])
    assert [c.id for c in queries.current_involvements(connection, ka, today=TODAY)] \
        == [made.id]


FEED = {"service_type": "social_care", "org_code": "csc201", "org_name": "Leeds CSC",
        "practitioner_name": "Jo Bloggs", "sensitive": False, "consent_basis": "not_given",
        "assessment_status": "completed", "lead_professional": True}


def test_organisation_involved_reads_feed_involvements_through_the_code_mapping(
    connection: Connection,
) -> None:
    ra = add_record(connection, "LA-CSC-201", involvements=[FEED])
    key, _ = add_child(connection, ra)
    access = make_service(connection, FakeClock(NOW))
    council, school = make_org(access), make_org(access)
    assert not queries.organisation_involved(connection, key, council, today=TODAY)
    orgcodes.add(connection, council, " CSC201 ", FeedCodeKind.LA, ctx=CTX)
    assert queries.organisation_involved(connection, key, council, today=TODAY)
    assert not queries.organisation_involved(connection, key, school, today=TODAY)
    feed = [c for c in queries.current_involvements(connection, key, today=TODAY)
            if c.origin is InvolvementOrigin.FEED]
    assert [(c.organisation, c.involvement.lead_professional) for c in feed] == [(council, True)]
    with pytest.raises(Conflict):
        orgcodes.add(connection, school, "csc201", FeedCodeKind.LA, ctx=CTX)
    with pytest.raises(NotFound):
        orgcodes.add(connection, "no-such-org", "X1", FeedCodeKind.URN, ctx=CTX)
    with pytest.raises(ValidationFailed):
        orgcodes.add(connection, school, "!", FeedCodeKind.URN, ctx=CTX)
    assert [c.feed_code for c in orgcodes.codes(connection, council)] == ["CSC201"]
    assert [e.action for e in trail.for_subject(connection, f"org:{council}")][-1] \
        == AuditAction.ORG_CODE_ADD
    orgcodes.remove(connection, "csc201", ctx=CTX)
    assert not queries.organisation_involved(connection, key, council, today=TODAY)


def test_ended_involvements_are_not_current(connection: Connection) -> None:
    ended = {**FEED, "end": "2026-01-31"}
    key, child_id = add_child(connection, add_record(connection, "LA-CSC-202",
                                                     involvements=[ended]))
    access = make_service(connection, FakeClock(NOW))
    council = make_org(access)
    orgcodes.add(connection, council, "CSC201", FeedCodeKind.LA, ctx=CTX)
    assert not queries.organisation_involved(connection, key, council, today=TODAY)
    who = practitioner(connection, council)
    searched(connection, who, child_id)
    made = service.record(connection, who, child_id, social_work(), now=NOW)
    assert queries.organisation_involved(connection, key, council, today=TODAY)
    service.cease(connection, who, child_id, made.id, now=NOW)
    assert not queries.organisation_involved(connection, key, council, today=TODAY)
    assert queries.current_involvements(connection, key, today=TODAY) == []


def test_the_child_views_shapes(connection: Connection) -> None:
    key, child_id = add_child(connection)
    who = practitioner(connection)
    colleague = practitioner(connection, who.org_code)
    searched(connection, who, child_id)
    made = service.record(connection, who, child_id, social_work(), now=NOW)
    assert [(i.practitioner_name, own) for i, own in
            queries.recorded_for(connection, key, who.actor, today=TODAY)] == [("Sam Patel", True)]
    assert [own for _, own in queries.recorded_for(connection, key, colleague.actor,
                                                   today=TODAY)] == [False]
    assert queries.recorded_for(connection, key, None, today=TODAY)[0][0].org_code \
        == who.org_code
    orgcodes.add(connection, who.org_code, "urn 100001", FeedCodeKind.URN, ctx=CTX)
    assert orgcodes.known_codes(connection, who.org_code) == {who.org_code, "URN 100001"}
    service.cease(connection, who, child_id, made.id, now=NOW)
    assert queries.recorded_for(connection, key, who.actor, today=TODAY) == ()


def test_two_concurrent_ceases_give_one_cease_and_one_conflict(
    fresh_db_url: str, backend: str,
) -> None:
    """The second transaction's UPDATE waits for the first's row lock, then finds the
    involvement ceased: one cease, one audit entry, one Conflict (PostgreSQL; SQLite writers
    never overlap)."""
    import threading

    from contactpoint.db.engine import make_engine

    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: no overlapping transactions to race")
    engine = make_engine(fresh_db_url)
    try:
        with engine.begin() as conn:
            _, child_id = add_child(conn)
            who = practitioner(conn)
            searched(conn, who, child_id)
            made = service.record(conn, who, child_id, social_work(), now=NOW)
        first = engine.connect()
        first.begin()
        service.cease(first, who, child_id, made.id, now=NOW)  # holds the row lock
        outcome: list[str] = []

        def second() -> None:
            with engine.begin() as conn:
                try:
                    service.cease(conn, who, child_id, made.id, now=NOW)
                    outcome.append("ceased")
                except Conflict:
                    outcome.append("conflict")

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive()  # waiting for the first transaction's lock
        first.commit()
        first.close()
        thread.join(timeout=30)
        assert outcome == ["conflict"]
        with engine.connect() as conn:
            assert events(conn, child_id) == [AuditAction.INVOLVEMENT_RECORD,
                                              AuditAction.INVOLVEMENT_CEASE]
    finally:
        engine.dispose()
