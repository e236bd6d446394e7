"""What ties a delta to its base: the generator version and digests of the world and population.

A delta redraws the base population from ``synth.json`` (seed, children, chunk size, rates) and
re-sends records of existing children under their source keys. That is only right when the
redraw gives the very children the base holds, so a full run stores here, in ``synth.json``:

* ``version``: :data:`GENERATOR_VERSION`, bumped by hand whenever a change to the generator
  alters its output for the same parameters;
* ``world_sha256`` and ``population_sha256``: digests of what was actually drawn, which catch a
  change nobody remembered to version (or another numpy drawing other numbers).

The delta refuses a base whose version differs, and one whose redrawn world or population does
not hash to the stored digests.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np
import numpy.typing as npt

from contactpoint.errors import ValidationFailed
from contactpoint.synth.population import Population, array_fields
from contactpoint.synth.world import World

GENERATOR_VERSION = 2
FINGERPRINT_KEY = "generator"


def _canonical(values: npt.NDArray[Any]) -> bytes:
    """The array's bytes in a form that depends only on its values (not on string widths)."""
    kind = values.dtype.kind
    if kind == "U":
        width = int(np.char.str_len(values).max()) if values.size else 0
        return bytes(values.astype(f"<U{max(width, 1)}").tobytes())
    if kind == "M":
        return bytes(values.astype("datetime64[D]").astype("<i8").tobytes())
    if kind in "iub":
        return bytes(values.astype("<i8").tobytes())
    return bytes(values.astype("<f8").tobytes())


def _feed(h: Any, name: str, values: npt.NDArray[Any]) -> None:
    h.update(f"{name}:{values.dtype.kind}:{values.shape[0]}|".encode())
    h.update(_canonical(values))


def world_digest(world: World) -> str:
    h = hashlib.sha256()
    for f in dataclasses.fields(World):
        value = getattr(world, f.name)
        parts = value if isinstance(value, tuple) else (value,)
        for i, part in enumerate(parts):
            for j, arr in enumerate(part if isinstance(part, tuple) else (part,)):
                _feed(h, f"{f.name}[{i}][{j}]", np.asarray(arr))
    return h.hexdigest()


class PopulationDigest:
    """A running digest of the population, fed one chunk at a time, in order."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._chunks = 0

    def add(self, pop: Population) -> None:
        self._h.update(f"chunk {self._chunks}|".encode())
        for name in array_fields():
            _feed(self._h, name, getattr(pop, name))
        self._chunks += 1

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def fingerprint(world: World, population: PopulationDigest) -> dict[str, object]:
    """The ``synth.json`` entry of a full run."""
    return {"version": GENERATOR_VERSION, "world_sha256": world_digest(world),
            "population_sha256": population.hexdigest(), "numpy": np.__version__}


_REGENERATE = "regenerate the base with this version of contactpoint synth"


def stored(params: dict[str, Any], base: str) -> dict[str, Any]:
    """The base's fingerprint; refused when absent or of another generator version."""
    entry = params.get(FINGERPRINT_KEY)
    if not isinstance(entry, dict) or "population_sha256" not in entry:
        raise ValidationFailed(
            f"{base} was written by an older synthetic generator (its synth.json has no "
            f"generator fingerprint), so its population cannot be redrawn reliably; {_REGENERATE}")
    version = entry.get("version")
    if version != GENERATOR_VERSION:
        raise ValidationFailed(
            f"{base} was written by synthetic generator version {version}, this is version "
            f"{GENERATOR_VERSION}: a delta would not match its records; {_REGENERATE}")
    return entry


def check(entry: dict[str, Any], what: str, actual: str, base: str) -> None:
    """Refuse when the redrawn ``what`` ("world" or "population") differs from the base's."""
    if entry.get(f"{what}_sha256") != actual:
        raise ValidationFailed(
            f"the {what} redrawn from {base}/synth.json differs from the one its feeds were "
            f"written from (the generator changed without a version bump, or numpy did: "
            f"base {entry.get('numpy')}, now {np.__version__}); {_REGENERATE}")
