"""The checkpoint signing key (Ed25519) and C2SP signed notes.

A signed note (https://c2sp.org/signed-note) is text ending in a newline, a blank line, then
signature lines ``— <key name> <base64(key id || signature)>``; the key id is the first four
bytes of SHA-256(key name || 0x0A || 0x01 || public key). A verifier key ("vkey") is
``<name>+<hex key id>+<base64(0x01 || public key)>``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contactpoint.errors import ContactPointError, ValidationFailed

ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # em dash, space


class KeyFileUnsafe(ContactPointError):
    code = "audit_key_unsafe"
    http_status = 500


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise ValidationFailed("a key name is non-empty, without spaces or '+'")


@dataclass(frozen=True)
class VerifierKey:
    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public)

    def vkey(self) -> str:
        encoded = base64.b64encode(ED25519 + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        try:
            name, hex_id, encoded = text.strip().split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise ValidationFailed("not a verifier key (name+keyid+base64)") from exc
        if len(raw) != 33 or raw[:1] != ED25519:
            raise ValidationFailed("verifier key is not an Ed25519 key")
        key = cls(name, raw[1:])
        if key.key_id.hex() != hex_id.lower():
            raise ValidationFailed("verifier key id does not match its name and key")
        return key

    def verify_note(self, note: str) -> str:
        """The note's text if it carries a valid signature by this key; else ValidationFailed.

        Signatures by other keys are ignored; a bad signature by this key rejects the note.
        """
        cut = note.rfind("\n\n")
        if cut < 0 or not note.endswith("\n"):
            raise ValidationFailed("not a signed note")
        text, signatures = note[: cut + 1], note[cut + 2 :].splitlines()
        public = Ed25519PublicKey.from_public_bytes(self.public)
        wanted_id = self.key_id
        found = False
        for line in signatures:
            if not line.startswith(SIGNATURE_PREFIX):
                raise ValidationFailed("malformed signature line")
            parts = line[len(SIGNATURE_PREFIX) :].split(" ")
            if len(parts) != 2:
                raise ValidationFailed("malformed signature line")
            name, encoded = parts
            try:
                raw = base64.b64decode(encoded, validate=True)
            except ValueError as exc:
                raise ValidationFailed("malformed signature") from exc
            if name != self.name or raw[:4] != wanted_id:
                continue
            try:
                public.verify(raw[4:], text.encode())
            except InvalidSignature as exc:
                raise ValidationFailed("checkpoint signature does not verify") from exc
            found = True
        if not found:
            raise ValidationFailed("checkpoint is not signed by the audit log key")
        return text


class SigningKey:
    def __init__(self, name: str, private: Ed25519PrivateKey) -> None:
        _check_name(name)
        self.name = name
        self._private = private
        self.verifier = VerifierKey(
            name,
            private.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            ),
        )

    def sign_note(self, text: str) -> str:
        if not text.endswith("\n") or "\n\n" in text:
            raise ValidationFailed("note text must end in one newline and hold no blank line")
        if any(ord(c) < 0x20 and c != "\n" for c in text):
            raise ValidationFailed("note text may not hold control characters")
        signature = self._private.sign(text.encode())
        encoded = base64.b64encode(self.verifier.key_id + signature).decode()
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {encoded}\n"


def load_or_create_signing_key(path: Path, name: str) -> SigningKey:
    """Load the PEM (PKCS#8) key at ``path``; create it (mode 0600) on first use.

    A key file readable by group or others is refused, as ssh does.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created concurrently: use that one
            return load_or_create_signing_key(path, name)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        return SigningKey(name, private)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileUnsafe(f"audit signing key {path} is readable by others (mode {mode:o})")
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyFileUnsafe(f"audit signing key {path} is not an Ed25519 key")
    return SigningKey(name, loaded)
