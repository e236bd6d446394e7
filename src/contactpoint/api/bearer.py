"""The one reading of ``Authorization: Bearer``, shared by authentication and the CSRF check.

Both must agree (review finding 14): a request the CSRF check lets through as "bearer, no
ambient credentials" must never be authenticated by its cookie instead.
"""

from __future__ import annotations


def bearer_from_header(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is none
    (no header, another scheme, or a blank token)."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None
