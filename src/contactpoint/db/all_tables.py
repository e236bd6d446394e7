"""Import every module that declares tables, so the metadata is complete (migrations, checks)."""

from contactpoint.db import tables  # noqa: F401
