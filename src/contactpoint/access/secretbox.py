"""TOTP secrets encrypted at rest, with a key kept outside the database (review finding 12).

``app_user.totp_secret`` must be readable to check codes, so it cannot be hashed; it is stored
as ``f1:<Fernet token>`` (AES-128-CBC + HMAC-SHA256, from ``cryptography``). The key is a file
(``CONTACTPOINT_TOTP_KEY_FILE``, default ``<var_dir>/totp-secrets.key``) created on first use
with mode 0600 in a 0700 directory, and refused when group or others can read it. A copy of
the database alone no longer yields anyone's second factor. A value without the prefix (made
before this change) is still read, and re-encrypted at the owner's next sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from contactpoint.errors import ContactPointError

PREFIX = "f1:"


class SecretKeyUnusable(ContactPointError):
    code = "secret_key_unusable"
    http_status = 500


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._mac_key = hashlib.sha256(b"contactpoint-name-mac:" + key).digest()

    def keyed_hash(self, text: str) -> str:
        """HMAC-SHA256 under a key derived from the secret key: what a counter keyed by a
        typed name stores (the name may be a mistyped password; no offline guessing)."""
        return hmac.new(self._mac_key, text.encode(), hashlib.sha256).hexdigest()

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before encryption at rest: sealed at the next sign-in
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyUnusable(
                "a stored second-factor secret does not open with the configured key"
            ) from exc

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(PREFIX)


def _create(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created concurrently: use that one
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key())
        handle.flush()
        os.fsync(handle.fileno())


@cache
def load_box(path: Path) -> SecretBox:
    """The box for the key file at ``path`` (created 0600 on first use); one per process."""
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretKeyUnusable(f"TOTP key file {path} is readable by others (mode {mode:o})")
    try:
        return SecretBox(path.read_bytes().strip())
    except ValueError as exc:
        raise SecretKeyUnusable(f"TOTP key file {path} does not hold a Fernet key") from exc
