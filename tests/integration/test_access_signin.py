"""Sign-in services against real databases: TOTP replay races, lockout, audit (both DBs)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from contactpoint.access.testing import (
    TEST_CONTEXT,
    Account,
    FakeClock,
    make_org,
    make_service,
    make_user,
)
from contactpoint.audit import trail
from contactpoint.audit.trail import AuditAction
from contactpoint.db.engine import make_engine
from contactpoint.errors import AccountLocked, AuthenticationFailed, ContactPointError


@pytest.fixture(scope="module")
def db(module_db_url: str) -> Iterator[Engine]:
    eng = make_engine(module_db_url, pool_size=8) if "postgresql" in module_db_url else (
        make_engine(module_db_url)
    )
    yield eng
    eng.dispose()


def new_account(db: Engine, clock: FakeClock) -> Account:
    with db.begin() as conn:
        service = make_service(conn, clock)
        return make_user(service, make_org(service))


def attempt(db: Engine, clock: FakeClock, account: Account, code: str) -> str:
    with db.connect() as conn:
        service = make_service(conn, clock)
        try:
            service.sign_in(
                account.username, account.password, code, address="192.0.2.1", ctx=TEST_CONTEXT
            )
        except ContactPointError as exc:
            conn.commit()
            return exc.code
        conn.commit()
        return "ok"


@pytest.mark.parametrize("threads", [2, 4])
def test_concurrent_identical_codes_give_exactly_one_success(db: Engine, threads: int) -> None:
    clock = FakeClock()
    account = new_account(db, clock)
    for _ in range(3):
        clock.next_totp_step()
        code = account.code(clock())
        barrier = threading.Barrier(threads)
        results: list[str] = []

        def run(
            code: str = code, barrier: threading.Barrier = barrier, results: list[str] = results
        ) -> None:
            barrier.wait()
            results.append(attempt(db, clock, account, code))  # list.append is atomic

        workers = [threading.Thread(target=run) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert sorted(results) == ["authentication_failed"] * (threads - 1) + ["ok"], results


def test_an_older_code_is_refused_after_a_newer_one(db: Engine) -> None:
    clock = FakeClock()
    account = new_account(db, clock)
    clock.next_totp_step()
    previous = account.code(clock())
    clock.next_totp_step()
    assert attempt(db, clock, account, account.code(clock())) == "ok"
    assert attempt(db, clock, account, previous) == "authentication_failed"


def test_lockout_is_counted_across_wrong_passwords_and_codes(db: Engine) -> None:
    clock = FakeClock()
    account = new_account(db, clock)
    wrong = f"{(int(account.code(clock())) + 1) % 1_000_000:06d}"
    for i in range(10):
        with db.connect() as conn:
            service = make_service(conn, clock)
            password = account.password if i % 2 else "an entirely wrong password"
            with pytest.raises(AuthenticationFailed):
                service.sign_in(
                    account.username, password, wrong, address="192.0.2.2", ctx=TEST_CONTEXT
                )
            conn.commit()
    clock.next_totp_step()
    with db.connect() as conn:
        service = make_service(conn, clock)
        with pytest.raises(AccountLocked):
            service.sign_in(
                account.username,
                account.password,
                account.code(clock()),
                address="192.0.2.2",
                ctx=TEST_CONTEXT,
            )
        conn.commit()
        events = trail.for_subject(conn, f"user:{account.username}")
    whys = [e.details.get("why") for e in events if e.action == AuditAction.SIGN_IN_FAILED]
    assert whys == ["bad_password", "bad_code"] * 5 + ["account_locked"]
    assert [e.action for e in events].count(AuditAction.ACCOUNT_LOCKED) == 1


def test_unknown_users_are_audited_without_the_name_they_typed(db: Engine) -> None:
    clock = FakeClock()
    with db.connect() as conn:
        service = make_service(conn, clock)
        with pytest.raises(AuthenticationFailed) as caught:
            service.sign_in(
                "ghost-user-xyz", "whatever it is they typed", "123456",
                address="192.0.2.3", ctx=TEST_CONTEXT,
            )
        conn.commit()
        last = trail.recent(conn, last=1)[0]
    assert caught.value.message == "the username, password or code is not right"
    assert last.action == AuditAction.SIGN_IN_FAILED
    assert last.details == {"why": "unknown_user", "known_user": False}
    assert "ghost" not in str(last)


def test_two_step_sign_in_pending_then_promoted_with_new_ids(db: Engine) -> None:
    from contactpoint.access import sessions
    from contactpoint.access.testing import FAST_SETTINGS

    clock = FakeClock()
    account = new_account(db, clock)
    with db.begin() as conn:
        service = make_service(conn, clock)
        user = service.check_password(
            account.username, account.password, address="192.0.2.9", ctx=TEST_CONTEXT
        )
        pending = sessions.create(conn, user.id, authenticated=False, now=clock())
        session = sessions.load(conn, pending, now=clock(), settings=FAST_SETTINGS)
        assert session is not None
        assert not session.authenticated
        with pytest.raises(AuthenticationFailed):
            service.check_code(user, "000000" if account.code(clock()) != "000000" else "111111",
                               address="192.0.2.9", ctx=TEST_CONTEXT)
        service.check_code(user, account.code(clock()), address="192.0.2.9", ctx=TEST_CONTEXT)
        service.complete_sign_in(user, ctx=TEST_CONTEXT)
        full = sessions.promote(conn, session, now=clock())
        assert full != pending
        assert sessions.load(conn, pending, now=clock(), settings=FAST_SETTINGS) is None
        promoted = sessions.load(conn, full, now=clock(), settings=FAST_SETTINGS)
        assert promoted is not None
        assert promoted.authenticated
        assert promoted.created_at == session.created_at  # the 12 h limit counts from step one
