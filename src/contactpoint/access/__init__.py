"""contactpoint.access."""
