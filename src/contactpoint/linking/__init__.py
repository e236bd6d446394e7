"""The linking service: link runs, review, merges and survivorship in the database (no Splink).

It drives :mod:`contactpoint.matching` through its public surface only. See
docs/linking-service.md.
"""
