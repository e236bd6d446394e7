"""Import every module that declares tables, so the metadata is complete (migrations, checks)."""

from contactpoint.access import tables as access_tables  # noqa: F401
from contactpoint.audit import tables as audit_tables  # noqa: F401
from contactpoint.council import tables as council_tables  # noqa: F401
from contactpoint.db import tables  # noqa: F401
from contactpoint.involvement import tables as involvement_tables  # noqa: F401
from contactpoint.linking import tables as linkage_tables  # noqa: F401
