"""Involvements over HTTP: record, list, change, cease; refusals look like "not found"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from children import add_child
from contactpoint.access.permissions import Permission, Role, permissions_for
from contactpoint.access.testing import Account, FakeClock, make_org, make_service, make_user
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction

BODY = {
    "service_type": "social_care", "practitioner_name": "Sam Patel",
    "practitioner_role": "Social Worker", "practitioner_phone": "0113 496 0000",
    "practitioner_email": "sam.patel@leeds.gov.uk", "assessment_status": "in_progress",
    "lead_professional": True, "start": "2026-09-01",
}


@dataclass
class World:
    child_id: str
    worker: Account
    colleague: Account
    stranger: Account
    auditor: Account


@pytest.fixture
def world(db: Engine, clock: FakeClock) -> World:
    with db.begin() as conn:
        s = make_service(conn, clock)
        org, other = make_org(s), make_org(s)
        worker = make_user(s, org)
        w = World(
            child_id=add_child(conn)[1], worker=worker, colleague=make_user(s, org),
            stranger=make_user(s, other), auditor=make_user(s, other, Role.AUDITOR),
        )
        for account in (w.worker, w.stranger):  # both found the child by a search
            trail.append(conn, action=AuditAction.CHILD_SEARCH, actor=f"user:{account.username}",
                         organisation=account.organisation, reason="test",
                         details={"results": [w.child_id]}, at=clock())
        return w


def login(app: FastAPI, account: Account, clock: FakeClock) -> TestClient:
    client = TestClient(app, base_url="https://testserver")
    response = client.post("/api/auth/login", json=account.login_body(clock()))
    assert response.status_code == 200, response.text
    return client


def path(w: World, *rest: Any) -> str:
    return "/".join([f"/api/children/{w.child_id}/involvements", *map(str, rest)]).rstrip("/")


def test_record_change_and_cease_over_http(app: FastAPI, db: Engine, world: World,
                                           clock: FakeClock) -> None:
    worker = login(app, world.worker, clock)
    made = worker.post(path(world), json=BODY)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["child_id"] == world.child_id
    assert body["organisation"] == world.worker.organisation
    assert body["status"] == "current"
    assert body["lead_professional"] is True
    assert body["sensitive"] is False
    inv = body["id"]
    changed = worker.patch(path(world, inv), json={"assessment_status": "completed",
                                                   "practitioner_role": None})
    assert changed.status_code == 200, changed.text
    assert changed.json()["assessment_status"] == "completed"
    assert changed.json()["practitioner_role"] is None
    colleague = login(app, world.colleague, clock)
    listed = colleague.get(path(world))
    assert listed.status_code == 200
    assert [i["id"] for i in listed.json()] == [inv]
    ceased = colleague.post(path(world, inv, "cease"), json={})
    assert ceased.status_code == 200, ceased.text
    assert ceased.json()["status"] == "ceased"
    assert ceased.json()["end"] == clock().date().isoformat()
    with db.connect() as conn:
        entries = [e for e in trail.for_subject(conn, f"child:{world.child_id}")
                   if e.action.startswith("record:involvement")]
    assert [(e.action, e.actor) for e in entries] == [
        (AuditAction.INVOLVEMENT_RECORD, f"user:{world.worker.username}"),
        (AuditAction.INVOLVEMENT_UPDATE, f"user:{world.worker.username}"),
        (AuditAction.INVOLVEMENT_CEASE, f"user:{world.colleague.username}"),
    ]
    assert all(e.request_id and e.request_id != "-" for e in entries)


def test_another_organisation_gets_exactly_not_found(app: FastAPI, world: World,
                                                     clock: FakeClock) -> None:
    worker = login(app, world.worker, clock)
    inv = worker.post(path(world), json=BODY).json()["id"]
    stranger = login(app, world.stranger, clock)
    absent = stranger.get(path(world, inv + 10_000))
    assert absent.status_code == 404
    assert absent.headers["content-type"] == "application/problem+json"
    for response in (
        stranger.get(path(world, inv)),
        stranger.patch(path(world, inv), json={"lead_professional": False}),
        stranger.post(path(world, inv, "cease"), json={}),
        stranger.get(path(world)),  # the list: nothing of theirs on this child
        stranger.get("/api/children/000000000000/involvements"),
        stranger.post("/api/children/000000000000/involvements", json=BODY),
    ):
        assert response.status_code == 404
        assert response.json() == absent.json()
    # and nothing changed
    assert worker.get(path(world, inv)).json()["lead_professional"] is True


def test_recording_needs_a_search_first(app: FastAPI, db: Engine, world: World,
                                        clock: FakeClock) -> None:
    colleague = login(app, world.colleague, clock)  # no search, organisation not involved
    refused = colleague.post(path(world), json=BODY)
    assert refused.status_code == 404
    assert login(app, world.worker, clock).post(path(world), json=BODY).status_code == 201
    assert colleague.post(path(world), json=BODY).status_code == 201  # now it is involved


def test_bad_input_gets_a_specific_problem(app: FastAPI, world: World,
                                           clock: FakeClock) -> None:
    worker = login(app, world.worker, clock)
    sensitive = worker.post(path(world), json={**BODY, "service_type": "camhs"})
    assert sensitive.status_code == 422
    assert sensitive.headers["content-type"] == "application/problem+json"
    assert "consent_basis" in sensitive.json()["detail"]
    ok = worker.post(path(world), json={**BODY, "service_type": "camhs",
                                        "consent_basis": "significant_harm"})
    assert ok.status_code == 201
    assert ok.json()["sensitive"] is True
    inv = ok.json()["id"]
    cleared = worker.patch(path(world, inv), json={"service_type": None})
    assert cleared.status_code == 422
    assert "service_type" in cleared.json()["detail"]
    assert worker.patch(path(world, inv), json={"colour": "red"}).status_code == 422
    assert worker.post(path(world), json={**BODY, "service_type": "astrology"}
                       ).status_code == 422
    future = worker.post(path(world, inv, "cease"), json={"end": "2099-01-01"})
    assert future.status_code == 422


def test_roles_without_the_permission_are_refused(app: FastAPI, world: World,
                                                  clock: FakeClock) -> None:
    auditor = login(app, world.auditor, clock)
    assert auditor.get(path(world)).status_code == 403
    assert auditor.post(path(world), json=BODY).status_code == 403


def test_practitioners_and_council_teams_hold_the_involvement_permissions() -> None:
    for role in (Role.PRACTITIONER, Role.COUNCIL_TEAM):
        assert {Permission.RECORD_INVOLVEMENT_READ, Permission.RECORD_INVOLVEMENT_WRITE} \
            <= permissions_for(role)
    for role in (Role.AUDITOR, Role.NATIONAL_ADMIN):
        assert not {Permission.RECORD_INVOLVEMENT_READ, Permission.RECORD_INVOLVEMENT_WRITE} \
            & permissions_for(role)
