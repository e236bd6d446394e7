"""Ed25519 signing key file and C2SP signed notes / checkpoints."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contactpoint.audit.checkpoint import checkpoint_text, open_checkpoint
from contactpoint.audit.keys import (
    KeyFileUnsafe,
    VerifierKey,
    key_id,
    load_or_create_signing_key,
)
from contactpoint.errors import ValidationFailed

NAME = "contactpoint.test/audit"


def test_key_file_is_created_0600_once_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "var" / "key.pem"
    first = load_or_create_signing_key(path, NAME)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_signing_key(path, NAME)
    assert again.verifier == first.verifier


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    load_or_create_signing_key(path, NAME)
    path.chmod(0o644)
    with pytest.raises(KeyFileUnsafe):
        load_or_create_signing_key(path, NAME)


def test_signed_note_has_the_c2sp_shape_and_verifies_with_plain_ed25519(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path / "k.pem", NAME)
    text = checkpoint_text(NAME, 5, b"\x07" * 32, "ab" * 32, "2026-11-25T15:00:00.000000Z")
    note = key.sign_note(text)
    body, signature_line = note.split("\n\n")
    assert body + "\n" == text
    assert signature_line.startswith(f"\u2014 {NAME} ")
    raw = base64.b64decode(signature_line.split(" ")[2])
    # key id = SHA-256(name || 0x0A || 0x01 || public key)[:4], then the 64-byte signature
    assert raw[:4] == key_id(NAME, key.verifier.public)
    Ed25519PublicKey.from_public_bytes(key.verifier.public).verify(raw[4:], text.encode())
    checkpoint = open_checkpoint(note, key.verifier)
    assert (checkpoint.tree_size, checkpoint.root, checkpoint.head_hash) == (
        5,
        b"\x07" * 32,
        "ab" * 32,
    )


def test_vkey_round_trips_and_its_key_id_is_checked(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path / "k.pem", NAME).verifier
    assert VerifierKey.parse(key.vkey()) == key
    name, _key_id, encoded = key.vkey().split("+", 2)
    with pytest.raises(ValidationFailed):
        VerifierKey.parse(f"{name}+00000000+{encoded}")
    with pytest.raises(ValidationFailed):
        VerifierKey.parse("not a key")


def test_tampered_or_foreign_notes_are_refused(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path / "k.pem", NAME)
    other = load_or_create_signing_key(tmp_path / "other.pem", NAME)
    text = checkpoint_text(NAME, 5, b"\x07" * 32, "ab" * 32, "t")
    note = key.sign_note(text)
    with pytest.raises(ValidationFailed, match="does not verify"):
        open_checkpoint(note.replace("\n5\n", "\n6\n"), key.verifier)
    with pytest.raises(ValidationFailed, match="not signed"):
        open_checkpoint(other.sign_note(text), key.verifier)
    with pytest.raises(ValidationFailed):
        open_checkpoint(text, key.verifier)
    with pytest.raises(ValidationFailed):
        key.sign_note("two\n\nparagraphs\n")
