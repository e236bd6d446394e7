"""The linkage engine: Splink scoring, vetoes and clustering over polars frames (no database).

Public surface for the rest of the project: :mod:`.engine` (train, load, dedupe, match_new),
:mod:`.frame` (the record-frame contract), :mod:`.artefact` (the model file) and
:mod:`.metrics`. See docs/linkage.md.
"""
