"""Pure domain model: no web, database or linkage-engine imports (enforced by import-linter)."""
