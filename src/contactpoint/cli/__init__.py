"""The ``contactpoint`` command line (Typer)."""
