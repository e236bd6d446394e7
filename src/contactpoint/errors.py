"""One exception tree with stable codes, translated at each edge (CLI, JSON, FHIR, HTML)."""

from __future__ import annotations


class ContactPointError(Exception):
    """Base of every error the service raises on purpose."""

    code = "contactpoint_error"
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(ContactPointError):
    code = "validation_failed"
    http_status = 422


class FeedRefused(ContactPointError):
    """A whole feed file was refused: nothing from it was stored."""

    code = "feed_refused"
    http_status = 422


class NotFound(ContactPointError):
    code = "not_found"
    http_status = 404


class Conflict(ContactPointError):
    code = "conflict"
    http_status = 409


class AuthenticationFailed(ContactPointError):
    code = "authentication_failed"
    http_status = 401


class AccountLocked(ContactPointError):
    code = "account_locked"
    http_status = 423


class PermissionDenied(ContactPointError):
    """Refused. ``reason`` is what the audit entry records; ``message`` is what the caller
    is told, and may be deliberately vaguer (one answer for every out-of-scope request)."""

    code = "permission_denied"
    http_status = 403

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class ReasonRequired(ContactPointError):
    code = "reason_required"
    http_status = 422


class AuditChainBroken(ContactPointError):
    code = "audit_chain_broken"
    http_status = 500


class ReauthenticationRequired(AuthenticationFailed):
    """A sensitive action needs password and code again (within the last few minutes)."""

    code = "reauthentication_required"
    http_status = 401


class Throttled(ContactPointError):
    code = "throttled"
    http_status = 429


class NotConfigured(ContactPointError):
    """A feature that needs configuration it does not have is off (never guessed)."""

    code = "not_configured"
    http_status = 503


class EnrolmentRequired(ContactPointError):
    """First sign-in of a new account (or after a reset): choose a new password and enrol a
    new second factor before anything else (``POST /api/auth/enrol/start`` then ``/finish``)."""

    code = "enrolment_required"
    http_status = 403


class PathMissing(ContactPointError):
    """A file or directory named on the command line does not exist."""

    code = "path_missing"
    http_status = 404


class SchemaBehind(ContactPointError):
    """The database is not at the migration this code expects (``contactpoint db upgrade``)."""

    code = "schema_behind"
    http_status = 503
