"""Password policy (NIST SP 800-63B rev 4) and argon2id hashing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactpoint.access import passwords
from contactpoint.access.passwords import HashParameters, PasswordHashing
from contactpoint.errors import ValidationFailed

FAST = HashParameters(time_cost=1, memory_kib=8, parallelism=1)


@pytest.mark.parametrize("length", [0, 1, 8, 14])
def test_shorter_than_15_is_refused(length: int) -> None:
    found = passwords.problems("zk3!Lm9@Rb2#Wp7"[:length])
    assert found == ["must be at least 15 characters long"]


def test_longer_than_128_is_refused_and_128_is_taken() -> None:
    base = "wander lost meadow tangerine volcano "
    ok = (base * 4)[:128]
    assert passwords.problems(ok) == []
    assert passwords.problems(ok + "x") == ["must be at most 128 characters long"]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("correcthorsebatterystaple", "commonly used or breached"),
        ("Correct Horse Battery Staple", "commonly used or breached"),
        ("1qaz2wsx3edc4rfv", "commonly used or breached"),
        ("!!manchesterunited2026", "common password with digits or symbols added"),
        ("aaaaaaaaaaaaaaaaaaaa", "repeats the same characters"),
        ("abcabcabcabcabcabc", "repeats the same characters"),
        ("123456789012345678", "simple sequence"),
        ("zyxwvutsrqponmlkj", "simple sequence"),
        ("my ContactPoint passphrase", "name of the service"),
        ("jane.smith-secret-phrase", "contains the username"),
    ],
)
def test_blocklist_and_context_words_are_refused_with_the_reason(
    password: str, reason: str
) -> None:
    found = passwords.problems(password, username="jane.smith")
    assert any(reason in r for r in found), found
    with pytest.raises(ValidationFailed, match=reason):
        passwords.check(password, username="jane.smith")


def test_the_shipped_blocklist_is_large_and_case_folded() -> None:
    words = passwords.blocklist()
    assert len(words) > 20_000
    assert {"password", "123456", "qwerty", "iloveyou"} <= words
    assert all(w == w.casefold() for w in list(words)[:2000])


@pytest.mark.parametrize(
    "password",
    [
        "purple monkey dishwasher",  # no composition rules: spaces, lower case only
        "ÉTÉ à la plage, 2026 ☀",  # any Unicode
        "          fifteen spaces in front",
        "tr0ub4dor&3-but-longer",
    ],
)
def test_good_passwords_are_accepted_verbatim(password: str) -> None:
    assert passwords.problems(password, username="someone") == []
    hashing = PasswordHashing(FAST)
    stored = hashing.hash(password)
    assert hashing.verify(stored, password)
    assert not hashing.verify(stored, password.strip() + "!")
    if password != password.strip():
        assert not hashing.verify(stored, password.strip())  # nothing trimmed


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=15, max_size=128).filter(lambda s: len(set(s)) > 4))
def test_no_composition_rule_only_length_and_lists(password: str) -> None:
    found = passwords.problems(password)
    assert not any("must" in r for r in found)


def test_argon2id_parameters_follow_the_settings() -> None:
    hashing = PasswordHashing(HashParameters(time_cost=2, memory_kib=16, parallelism=1))
    stored = hashing.hash("long enough pass phrase here")
    assert stored.startswith("$argon2id$")
    assert "m=16,t=2,p=1" in stored
    stronger = PasswordHashing(HashParameters(time_cost=3, memory_kib=32, parallelism=1))
    assert stronger.needs_rehash(stored)
    assert not hashing.verify("not a hash", "whatever")
