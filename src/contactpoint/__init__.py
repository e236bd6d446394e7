"""Contactpoint: an open national children's index."""

__version__ = "0.1.0"
