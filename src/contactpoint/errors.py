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
    code = "permission_denied"
    http_status = 403


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


class PathMissing(ContactPointError):
    """A file or directory named on the command line does not exist."""

    code = "path_missing"
    http_status = 404


class SchemaBehind(ContactPointError):
    """The database is not at the migration this code expects (``contactpoint db upgrade``)."""

    code = "schema_behind"
    http_status = 503
