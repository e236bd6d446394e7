"""Feed import: readers (CSV, FHIR R4, DfE CTF) -> validation -> staged source records.

Public entry points live in :mod:`contactpoint.ingest.service` (``import_paths``) and
:mod:`contactpoint.ingest.bench` (``run_import_benchmark``). Nothing happens at import.
"""
