"""Findings of the outside security review at the HTTP edge (both databases).

4: one identical refusal for every out-of-scope council-team request. 7: refusals of
authenticated callers are audited.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from contactpoint.access.permissions import Role
from contactpoint.access.testing import (
    Account,
    FakeClock,
    make_org,
    make_service,
    make_user,
    unique,
)
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction

PASSWORD = "a perfectly reasonable passphrase"


def signed_in(app: FastAPI, account: Account, clock: FakeClock) -> TestClient:
    client = TestClient(app, base_url="https://testserver")
    response = client.post("/api/auth/login", json=account.login_body(clock()))
    assert response.status_code == 200, response.text
    return client


def test_every_out_of_scope_council_team_request_gets_one_identical_answer(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    with db.begin() as conn:
        s = make_service(conn, clock)
        area_a, area_b = unique("A"), unique("B")
        council_a = make_org(s, la_code=area_a)
        council_b = make_org(s, la_code=area_b)
        national = make_org(s, kind="other")
        team = make_user(s, council_a, Role.COUNCIL_TEAM)
        other_area = make_user(s, council_b)
        admin_in_area = make_user(s, council_a, Role.NATIONAL_ADMIN)
        admin = make_user(s, national, Role.NATIONAL_ADMIN)
    client = signed_in(app, team, clock)
    answers = [
        client.get(f"/api/admin/users/{other_area.username}"),  # another area
        client.get("/api/admin/users/no-such-user-at-all"),  # does not exist
        client.get(f"/api/admin/users/{admin_in_area.username}"),  # a role it cannot manage
        client.get(f"/api/admin/users/{admin.username}"),  # both
        client.post(
            "/api/admin/users",
            json={"username": unique("n"), "password": PASSWORD, "organisation": council_b,
                  "role": "practitioner"},
        ),  # an organisation in another area
        client.post(
            "/api/admin/users",
            json={"username": unique("n"), "password": PASSWORD, "organisation": "NO-SUCH-ORG",
                  "role": "practitioner"},
        ),  # an organisation that does not exist
        client.post(
            "/api/admin/users",
            json={"username": unique("n"), "password": PASSWORD, "organisation": council_a,
                  "role": "national_admin"},
        ),  # a role it cannot grant
    ]
    assert {r.status_code for r in answers} == {403}
    assert len({r.content for r in answers}) == 1, [r.json()["detail"] for r in answers]


def test_refusals_of_authenticated_callers_are_audited(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    with db.begin() as conn:
        s = make_service(conn, clock)
        council_a = make_org(s, la_code=unique("A"))
        council_b = make_org(s, la_code=unique("B"))
        team = make_user(s, council_a, Role.COUNCIL_TEAM)
        practitioner = make_user(s, council_a)
        other_area = make_user(s, council_b)
    client = signed_in(app, team, clock)
    assert client.patch(f"/api/admin/users/{team.username}",
                        json={"role": "national_admin"}).status_code == 403  # self-promotion
    assert client.get(f"/api/admin/users/{other_area.username}").status_code == 403
    clock.next_totp_step()
    plain = signed_in(app, practitioner, clock)
    assert plain.get("/api/admin/users").status_code == 403  # lacks the permission
    with db.connect() as conn:
        own = trail.for_subject(conn, f"user:{team.username}")
        other = trail.for_subject(conn, f"user:{other_area.username}")
        recent = trail.recent(conn, last=20)
    refused_self = [e for e in own if e.action == AuditAction.ACCESS_REFUSED]
    assert len(refused_self) == 1
    assert refused_self[0].actor == f"user:{team.username}"
    assert refused_self[0].details["reason"] == "nobody may change their own privileges"
    refused_other = [e for e in other if e.action == AuditAction.ACCESS_REFUSED]
    assert len(refused_other) == 1
    assert "council area" in refused_other[0].details["reason"]  # the real reason, kept
    lacking = [e for e in recent if e.action == AuditAction.ACCESS_REFUSED
               and e.actor == f"user:{practitioner.username}"]
    assert len(lacking) == 1
    assert lacking[0].details["route"] == "/api/admin/users"


def test_a_blank_bearer_header_does_not_skip_the_csrf_check(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    """Review finding 14: ``Authorization: Bearer <blank>`` was exempt from the origin check
    while authentication fell back to the session cookie."""
    with db.begin() as conn:
        s = make_service(conn, clock)
        account = make_user(s, make_org(s))
    client = signed_in(app, account, clock)
    for blank in ("Bearer ", "Bearer    ", "bearer \t"):
        refused = client.post(
            "/api/auth/logout",
            headers={"Authorization": blank, "Origin": "https://evil.example"},
        )
        assert refused.status_code == 403, blank
        assert refused.json()["code"] == "cross_site_request"
    assert client.get("/api/me").status_code == 200  # still signed in


def test_the_app_signs_checkpoints_on_its_schedule(
    db: Engine, module_db_url: str, clock: FakeClock, tmp_path: object
) -> None:
    """Review finding 3: ``serve`` left checkpoints to an external timer."""
    import time
    from pathlib import Path

    from contactpoint.access.testing import FAST_SETTINGS
    from contactpoint.app import create_app
    from contactpoint.audit import store, witness
    from contactpoint.audit.config import AuditConfig
    from contactpoint.settings import Settings

    assert isinstance(tmp_path, Path)
    config = AuditConfig(tmp_path / "published", tmp_path / "key.pem", every_seconds=1,
                         every_entries=1000)
    with db.connect() as conn:
        before = store.checkpoint_count(conn)
    app = create_app(Settings(database_url=module_db_url), access_settings=FAST_SETTINGS,
                     engine=db, clock=clock, checkpoints=config)
    with db.begin() as conn:
        s = make_service(conn, clock)
        account = make_user(s, make_org(s))
    with TestClient(app, base_url="https://testserver") as client:
        assert client.post("/api/auth/login", json=account.login_body(clock())).status_code == 200
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with db.connect() as conn:
                if store.checkpoint_count(conn) > before:
                    break
            time.sleep(0.2)
    with db.connect() as conn:
        assert store.checkpoint_count(conn) > before
    assert witness.read_all(config.witness_file)
    assert list(config.checkpoint_dir.glob("checkpoint-*"))


def test_a_new_account_enrols_afresh_so_its_creator_holds_no_working_factor(
    app: FastAPI, db: Engine, clock: FakeClock
) -> None:
    """Review finding 5: a council-team user created a second account, signed in as it, and
    changed the first account's vetting dates."""
    import pyotp

    from contactpoint.access import totp

    with db.begin() as conn:
        s = make_service(conn, clock)
        council = make_org(s, la_code=unique("A"))
        creator = make_user(s, council, Role.COUNCIL_TEAM)
    team = signed_in(app, creator, clock)
    name = unique("second")
    made = team.post("/api/admin/users", json={
        "username": name, "password": PASSWORD, "organisation": council, "role": "council_team",
        "vetted_on": "2026-01-01", "trained_on": "2026-01-01", "agreement_signed_on": "2026-01-01",
    })
    assert made.status_code == 201, made.text
    handed_over = made.json()["totp_secret"]

    second = TestClient(app, base_url="https://testserver")
    clock.next_totp_step()
    creds = {"username": name, "password": PASSWORD, "otp": totp.code_at(handed_over, clock())}
    refused = second.post("/api/auth/login", json=creds)
    assert refused.status_code == 403
    assert refused.json()["code"] == "enrolment_required"
    assert "set-cookie" not in refused.headers

    clock.next_totp_step()
    creds["otp"] = totp.code_at(handed_over, clock())
    started = second.post("/api/auth/enrol/start", json=creds)
    assert started.status_code == 200, started.text
    fresh = started.json()["totp_secret"]
    assert fresh != handed_over
    assert pyotp.TOTP(fresh).provisioning_uri(name=name) != ""
    clock.next_totp_step()
    finished = second.post("/api/auth/enrol/finish", json={
        "username": name, "password": PASSWORD, "new_password": "an owner's own long passphrase",
        "otp": totp.code_at(fresh, clock()),
    })
    assert finished.status_code == 200, finished.text
    assert second.get("/api/me").json()["name"] == name

    # The creator's copy of the factors no longer signs anyone in.
    clock.next_totp_step()
    old = TestClient(app, base_url="https://testserver").post("/api/auth/login", json={
        "username": name, "password": PASSWORD, "otp": totp.code_at(handed_over, clock())})
    assert old.status_code == 401

    # And the new account may not change its creator's privileges.
    changed = second.patch(f"/api/admin/users/{creator.username}",
                           json={"vetted_on": "2026-11-01"})
    assert changed.status_code == 403
    with db.connect() as conn:
        events = trail.for_subject(conn, f"user:{name}")
    assert AuditAction.ENROLMENT in [e.action for e in events]


def test_an_account_never_changes_its_creators_privileges(db: Engine, clock: FakeClock) -> None:
    from contactpoint.access.testing import TEST_CONTEXT

    with db.begin() as conn:
        s = make_service(conn, clock)
        council = make_org(s, la_code=unique("A"))
        creator = s.user(make_user(s, council, Role.COUNCIL_TEAM).username)
        ctx = TEST_CONTEXT.__class__(creator.actor, council, None)
        child = s.create_user(unique("c"), PASSWORD, organisation_code=council,
                              role=Role.COUNCIL_TEAM, vetted_on=None, trained_on=None,
                              agreement_signed_on=None, ctx=ctx).user
        grandchild = s.create_user(unique("g"), PASSWORD, organisation_code=council,
                                   role=Role.COUNCIL_TEAM, vetted_on=None, trained_on=None,
                                   agreement_signed_on=None,
                                   ctx=TEST_CONTEXT.__class__(child.actor, council, None)).user
        other = s.user(make_user(s, council).username)
        assert "24 hours" in (s.privilege_change_refusal(child.id, other) or "")
        clock.advance(hours=25)
        assert s.privilege_change_refusal(child.id, other) is None
        assert "created it" in (s.privilege_change_refusal(child.id, creator) or "")
        assert "created it" in (s.privilege_change_refusal(grandchild.id, creator) or "")
        assert "created it" in (s.privilege_change_refusal(grandchild.id, child) or "")
        assert s.privilege_change_refusal(creator.id, child) is None
        conn.rollback()
