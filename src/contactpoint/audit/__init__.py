"""contactpoint.audit."""
