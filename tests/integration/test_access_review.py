"""Findings of the outside security review, at the service level, on both databases.

1: the lockout has a cumulative cap (100 consecutive failures suspend the account; the owner is
told). 6: unknown usernames follow the same lock rules as known ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from contactpoint.access.service import ACCOUNT_LOCKED_MESSAGE, SIGN_IN_FAILED_MESSAGE
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
from contactpoint.errors import (
    AccountLocked,
    AuthenticationFailed,
    ContactPointError,
    PermissionDenied,
)


@pytest.fixture(scope="module")
def db(module_db_url: str) -> Iterator[Engine]:
    eng = make_engine(module_db_url)
    yield eng
    eng.dispose()


def new_account(db: Engine, clock: FakeClock) -> Account:
    with db.begin() as conn:
        service = make_service(conn, clock)
        return make_user(service, make_org(service))


def attempt(
    db: Engine, clock: FakeClock, username: str, password: str, code: str, address: str
) -> ContactPointError | None:
    with db.connect() as conn:
        service = make_service(conn, clock)
        try:
            service.sign_in(username, password, code, address=address, ctx=TEST_CONTEXT)
        except ContactPointError as exc:
            conn.commit()
            return exc
        conn.commit()
        return None


def test_one_hundred_consecutive_failures_suspend_across_locks(db: Engine) -> None:
    clock = FakeClock()
    account = new_account(db, clock)
    failures = 0
    while failures < 100:
        refused = attempt(db, clock, account.username, "a wrong password entirely", "000000",
                          f"198.51.100.{failures % 200}")
        if isinstance(refused, AccountLocked):
            clock.advance(minutes=16)  # wait the lock out, as the attacker would
            continue
        assert isinstance(refused, AuthenticationFailed)
        failures += 1
    clock.advance(minutes=16)
    clock.next_totp_step()
    refused = attempt(db, clock, account.username, account.password, account.code(clock()),
                      "198.51.100.250")
    assert isinstance(refused, PermissionDenied)  # right factors: the owner learns why
    assert "suspended" in refused.message
    with db.begin() as conn:
        service = make_service(conn, clock)
        events = trail.for_subject(conn, f"user:{account.username}")
        suspended = [e for e in events if e.action == AuditAction.ACCOUNT_SUSPENDED]
        assert len(suspended) == 1
        assert suspended[0].details["after_failures"] == 100
        assert service.user(account.username).suspended
        # Only a council team or administrator restores it.
        service.set_suspended(service.user(account.username), False, ctx=TEST_CONTEXT)
    clock.next_totp_step()
    with db.begin() as conn:
        service = make_service(conn, clock)
        user = service.sign_in(account.username, account.password, account.code(clock()),
                               address="198.51.100.251", ctx=TEST_CONTEXT)
        notices = service.take_notices(user.id)
        assert len(notices) == 1
        assert "100 failed sign-in attempts" in notices[0]
        assert service.take_notices(user.id) == []  # told once


def test_a_success_resets_the_consecutive_count(db: Engine) -> None:
    clock = FakeClock()
    account = new_account(db, clock)
    for round_ in range(2):
        for i in range(60):
            refused = attempt(db, clock, account.username, "a wrong password entirely",
                              "000000", f"203.0.113.{i}")
            if isinstance(refused, AccountLocked):
                clock.advance(minutes=16)
        clock.advance(minutes=16)
        clock.next_totp_step()
        assert attempt(db, clock, account.username, account.password, account.code(clock()),
                       f"203.0.113.{200 + round_}") is None


def _until_locked(db: Engine, clock: FakeClock, username: str, password: str) -> list[str]:
    answers = []
    for i in range(11):
        refused = attempt(db, clock, username, password, "000000", f"192.0.2.{100 + i}")
        assert refused is not None
        answers.append(f"{type(refused).__name__}:{refused.message}")
    return answers


def test_unknown_usernames_lock_exactly_like_known_ones(db: Engine) -> None:
    clock = FakeClock()
    account = new_account(db, clock)
    known = _until_locked(db, clock, account.username, "not the password at all")
    unknown = _until_locked(db, clock, "nobody-by-this-name", "not the password at all")
    expected = [f"AuthenticationFailed:{SIGN_IN_FAILED_MESSAGE}"] * 10 + [
        f"AccountLocked:{ACCOUNT_LOCKED_MESSAGE}"
    ]
    assert known == expected
    assert unknown == expected
    # Stored under a keyed hash: a typed "name" (perhaps a password) cannot be guessed offline.
    import hashlib

    from sqlalchemy import select

    from contactpoint.access.lockout import unknown_name_key
    from contactpoint.access.tables import unknown_sign_in

    with db.connect() as conn:
        box = make_service(conn, clock).box
        stored = set(conn.execute(select(unknown_sign_in.c.name_hash)).scalars())
    assert unknown_name_key("nobody-by-this-name", box.keyed_hash) in stored
    assert hashlib.sha256(b"nobody-by-this-name").hexdigest() not in stored
    clock.advance(minutes=16)  # both locks end after the same time
    refused = attempt(db, clock, "Nobody-By-This-Name ", "x" * 20, "000000", "192.0.2.200")
    assert isinstance(refused, AuthenticationFailed)


def test_throttled_sign_ins_are_one_counted_audit_entry_per_window(db: Engine) -> None:
    """Review finding 9: every throttled sign-in appended an entry under the chain lock."""
    from contactpoint.access.testing import FAST_SETTINGS

    settings = FAST_SETTINGS.model_copy(update={"address_throttle_failures": 3})
    clock = FakeClock()
    address = "198.18.0.77"

    def attempts(n: int) -> list[str]:
        codes = []
        for _ in range(n):
            with db.connect() as conn:
                service = make_service(conn, clock, settings)
                try:
                    service.sign_in("no-such-person-here", "x" * 20, "000000",
                                    address=address, ctx=TEST_CONTEXT)
                except ContactPointError as exc:
                    codes.append(exc.code)
                conn.commit()
        return codes

    with db.connect() as conn:
        before = trail.head(conn)[0]
    assert attempts(13) == ["authentication_failed"] * 3 + ["throttled"] * 10
    with db.connect() as conn:
        new = trail.recent(conn, last=trail.head(conn)[0] - before)
    throttled = [e for e in new if e.details.get("why") == "address_throttled"]
    assert len(throttled) == 1
    clock.advance(minutes=16)
    attempts(3)
    assert attempts(1) == ["throttled"]
    with db.connect() as conn:
        last = trail.recent(conn, last=1)[0]
    assert last.details["why"] == "address_throttled"
    assert last.details["previous_window_refusals"] == 10


def test_totp_secrets_are_sealed_with_a_key_outside_the_database(db: Engine) -> None:
    """Review finding 12: TOTP secrets were stored in clear."""
    import stat as stat_

    from sqlalchemy import select, update

    from contactpoint.access.secretbox import load_box
    from contactpoint.access.tables import app_user
    from contactpoint.access.testing import FAST_SETTINGS

    clock = FakeClock()
    account = new_account(db, clock)
    with db.connect() as conn:
        stored = conn.execute(select(app_user.c.totp_secret)
                              .where(app_user.c.username == account.username)).scalar_one()
    assert stored.startswith("f1:")
    assert account.totp_secret not in stored
    key_file = FAST_SETTINGS.effective_totp_key_file
    assert stat_.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat_.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    clock.next_totp_step()
    assert attempt(db, clock, account.username, account.password, account.code(clock()),
                   "192.0.2.60") is None
    # A secret stored in clear before this change still works, and is sealed on success.
    with db.begin() as conn:
        conn.execute(update(app_user).where(app_user.c.username == account.username)
                     .values(totp_secret=account.totp_secret))
    clock.next_totp_step()
    assert attempt(db, clock, account.username, account.password, account.code(clock()),
                   "192.0.2.61") is None
    with db.connect() as conn:
        resealed = conn.execute(select(app_user.c.totp_secret)
                                .where(app_user.c.username == account.username)).scalar_one()
    assert resealed.startswith("f1:")
    assert load_box(key_file).open(resealed) == account.totp_secret


def test_a_totp_key_file_readable_by_others_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    from contactpoint.access.secretbox import SecretKeyUnusable, load_box

    assert isinstance(tmp_path, Path)
    key = tmp_path / "keys" / "totp.key"
    box = load_box(key)
    assert box.open(box.seal("JBSWY3DPEHPK3PXP")) == "JBSWY3DPEHPK3PXP"
    key.chmod(0o644)
    load_box.cache_clear()
    with pytest.raises(SecretKeyUnusable):
        load_box(key)
