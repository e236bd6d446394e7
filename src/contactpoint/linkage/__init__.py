"""contactpoint.linkage."""
