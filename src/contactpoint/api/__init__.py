"""contactpoint.api."""
