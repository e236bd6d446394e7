"""Permissions (``scope:resource:action``) and the one table that grants them to roles.

Routes declare the permission they need (``Require(Permission.X)``); nothing else decides.
Permissions for features not built yet (search, view, shields, review) are declared now so
that the role table is reviewed once, in one place.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PRACTITIONER = "practitioner"
    COUNCIL_TEAM = "council_team"
    NATIONAL_ADMIN = "national_admin"
    AUDITOR = "auditor"


class Permission(StrEnum):
    """Named ``<scope>:<resource>:<action>``."""

    SELF_PROFILE_READ = "self:profile:read"
    RECORD_CHILD_SEARCH = "record:child:search"
    RECORD_CHILD_VIEW = "record:child:view"
    RECORD_SHIELD_SET = "record:shield:set"
    RECORD_SHIELD_OVERRIDE = "record:shield:override"
    RECORD_CONTACT_BROKER = "record:contact:broker"
    RECORD_INVOLVEMENT_READ = "record:involvement:read"
    RECORD_INVOLVEMENT_WRITE = "record:involvement:write"
    AUDIT_TRAIL_READ = "audit:trail:read"
    AUDIT_SUBJECT_REPORT = "audit:subject:report"
    ADMIN_USER_MANAGE = "admin:user:manage"
    ADMIN_ORG_MANAGE = "admin:org:manage"
    ADMIN_CLIENT_MANAGE = "admin:client:manage"
    FEED_EXTRACT_IMPORT = "feed:extract:import"
    LINKAGE_REVIEW_DECIDE = "linkage:review:decide"
    RECORD_CONTACT_REQUEST = "record:contact:request"
    ADMIN_GRANT_MANAGE = "admin:grant:manage"
    COUNCIL_WORKLIST_READ = "council:worklist:read"
    COUNCIL_INVESTIGATION_DECIDE = "council:investigation:decide"
    COUNCIL_CME_REPORT = "council:cme:report"
    AUDIT_INVESTIGATION_READ = "audit:investigation:read"
    NATIONAL_RESPONSIBILITY_REPORT = "national:responsibility:report"


class GrantablePermission(StrEnum):
    """Permissions a council team grants to named users on top of their role (``user_grant``):
    not whole roles. Each value is also a :class:`Permission`."""

    RECORD_SHIELD_OVERRIDE = "record:shield:override"


P = Permission

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PRACTITIONER: frozenset(
        {
            P.SELF_PROFILE_READ,
            P.RECORD_CHILD_SEARCH,
            P.RECORD_CHILD_VIEW,
            P.RECORD_INVOLVEMENT_READ,
            P.RECORD_INVOLVEMENT_WRITE,
            P.RECORD_CONTACT_REQUEST,
        }
    ),
    Role.COUNCIL_TEAM: frozenset(
        {
            P.SELF_PROFILE_READ,
            P.RECORD_CHILD_SEARCH,
            P.RECORD_CHILD_VIEW,
            P.RECORD_SHIELD_SET,
            P.RECORD_SHIELD_OVERRIDE,
            P.RECORD_CONTACT_BROKER,
            P.RECORD_INVOLVEMENT_READ,
            P.RECORD_INVOLVEMENT_WRITE,
            P.ADMIN_USER_MANAGE,
            P.LINKAGE_REVIEW_DECIDE,
            P.RECORD_CONTACT_REQUEST,
            P.ADMIN_GRANT_MANAGE,
            P.COUNCIL_WORKLIST_READ,
            P.COUNCIL_INVESTIGATION_DECIDE,
            P.COUNCIL_CME_REPORT,
        }
    ),
    Role.NATIONAL_ADMIN: frozenset(
        {
            P.SELF_PROFILE_READ,
            P.ADMIN_USER_MANAGE,
            P.ADMIN_ORG_MANAGE,
            P.ADMIN_CLIENT_MANAGE,
            P.FEED_EXTRACT_IMPORT,
            P.LINKAGE_REVIEW_DECIDE,
            P.NATIONAL_RESPONSIBILITY_REPORT,
        }
    ),
    Role.AUDITOR: frozenset({P.SELF_PROFILE_READ, P.AUDIT_TRAIL_READ, P.AUDIT_SUBJECT_REPORT,
                             P.AUDIT_INVESTIGATION_READ}),
}

# Roles each managing role may grant. Nobody grants a role they could not be given by others,
# and a council team never mints national administrators or auditors.
GRANTABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.NATIONAL_ADMIN: frozenset(Role),
    Role.COUNCIL_TEAM: frozenset({Role.PRACTITIONER, Role.COUNCIL_TEAM}),
}

# What a machine client (a case-management system) may be given; its default set.
CLIENT_GRANTABLE: frozenset[Permission] = frozenset(
    {P.SELF_PROFILE_READ, P.RECORD_CHILD_SEARCH, P.RECORD_CHILD_VIEW, P.FEED_EXTRACT_IMPORT}
)
CLIENT_DEFAULT: frozenset[Permission] = frozenset(
    {P.SELF_PROFILE_READ, P.RECORD_CHILD_SEARCH, P.RECORD_CHILD_VIEW}
)


def permissions_for(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]


def parse_permissions(text: str) -> frozenset[Permission]:
    """Space-separated permission names (as stored and as OAuth ``scope``)."""
    return frozenset(Permission(part) for part in text.split())


def format_permissions(permissions: frozenset[Permission]) -> str:
    return " ".join(sorted(permissions))
