"""Training: prior by deterministic rules, u by random sampling, m by EM; artefact + report."""

from __future__ import annotations

import copy
import json
import math
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from contactpoint.matching import fit
from contactpoint.matching.artefact import ModelArtefact, Rules, canonical_hash, write_artefact
from contactpoint.matching.frame import conform
from contactpoint.matching.model import (
    DETERMINISTIC_RULES,
    EM_BLOCKING_RULES,
    base_settings,
)
from contactpoint.matching.normalise import prepare
from contactpoint.matching.splinkdb import connect, linker_for, load_table

M_FLOOR = 1e-5  # no level may make a match impossible: vetoes do that, explicitly
U_FLOOR = 1e-8
U_PAIRS_MAX = 3e6
U_PAIRS_PER_RECORD = 200
U_CORRECTION_CAP = 0.2  # the match correction never divides an observed u by more than 5
EM_MIN_PAIRS = 200
EM_MAX_PAIRS = 2e6
DETERMINISTIC_RECALL = 0.7


def _count_pairs(con: duckdb.DuckDBPyConnection, rule: str) -> int:
    sql = f"SELECT count(*) FROM lf AS l JOIN lf AS r ON {rule} AND l.unique_id < r.unique_id"  # noqa: S608 - internal names and constants only  # nosec B608
    cur = con.cursor()
    try:
        rows = cur.execute(sql).fetchall()
    finally:
        cur.close()
    return int(rows[0][0]) if rows else 0


def _clean_levels(settings: dict[str, Any]) -> None:
    """Floor m/u so that no level's weight is infinite; fill untrained levels with priors.

    u from random sampling counts *all* random pairs, matches included: with prior lambda,
    observed u = lambda*m + (1-lambda)*u_true. On small populations lambda is as large as the
    u of the strongest levels, so subtract the matches back out.
    """
    lam = float(settings.get("probability_two_random_records_match", 0.0))
    defaults = {
        c["output_column_name"]: c
        for variant in (True, False)
        for c in base_settings(household_structure=variant)["comparisons"]
    }
    for comp in settings["comparisons"]:
        prior = defaults[comp["output_column_name"]]["comparison_levels"]
        for level, default in zip(comp["comparison_levels"], prior, strict=True):
            if level.get("is_null_level"):
                continue
            for key, floor in (("m_probability", M_FLOOR), ("u_probability", U_FLOOR)):
                value = level.get(key)
                if value is None or not math.isfinite(value):
                    value = default[key]
                level[key] = max(float(value), floor)
            if 0 < lam < 0.5:
                u_obs = level["u_probability"]
                u_true = (u_obs - lam * level["m_probability"]) / (1 - lam)
                level["u_probability"] = max(u_true, U_CORRECTION_CAP * u_obs, U_FLOOR)


def _weights(settings: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for comp in settings["comparisons"]:
        for level in comp["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level["m_probability"], level["u_probability"]
            rows.append(
                {
                    "comparison": comp["output_column_name"],
                    "level": level.get("label_for_charts", level["sql_condition"]),
                    "m": m,
                    "u": u,
                    "match_weight": round(math.log2(m / u), 3),
                }
            )
    return rows


def train_model(
    records: pl.DataFrame, out_dir: Path, *, workdir: Path | None = None,
    rules: Rules | None = None,
) -> ModelArtefact:
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    frame = conform(records)
    lf = prepare(frame)
    timings["prepare_s"] = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="cp-train-") as tmp:
        wd = workdir if workdir is not None else Path(tmp)
        con = connect(wd, "training.duckdb")
        try:
            load_table(con, "lf", lf)
            n = lf.height
            population = fit.measure(con)
            settings = base_settings(household_structure=population.households)
            linker, _, _ = linker_for(con, ["lf"], settings)
            t = time.perf_counter()
            linker.training.estimate_probability_two_random_records_match(
                list(DETERMINISTIC_RULES), recall=DETERMINISTIC_RECALL
            )
            timings["prior_s"] = time.perf_counter() - t
            t = time.perf_counter()
            max_pairs = min(U_PAIRS_MAX, max(U_PAIRS_PER_RECORD * n, 1e5), n * (n - 1) / 4)
            linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=42)
            timings["u_s"] = time.perf_counter() - t
            em_sessions: list[dict[str, Any]] = []
            for rule in EM_BLOCKING_RULES:
                t = time.perf_counter()
                pairs = _count_pairs(con, rule)
                if pairs < EM_MIN_PAIRS:
                    em_sessions.append({"blocking_rule": rule, "pairs": pairs, "skipped": True})
                    continue
                # Each session on a fresh linker from the current parameters: a session that
                # fails (Splink refuses an m of exactly 0 mid-EM on small blocks) is skipped
                # and leaves the model as it was.
                current = linker.misc.save_model_to_json()
                current.pop("linker_uid", None)
                try:
                    linker.training.estimate_parameters_using_expectation_maximisation(
                        rule,
                        estimate_without_term_frequencies=True,
                        max_pairs=EM_MAX_PAIRS if pairs > EM_MAX_PAIRS else None,
                    )
                except ValueError as exc:
                    linker, _, _ = linker_for(con, ["lf"], current)
                    em_sessions.append(
                        {"blocking_rule": rule, "pairs": pairs, "failed": str(exc)[:120]}
                    )
                    continue
                em_sessions.append(
                    {"blocking_rule": rule, "pairs": pairs,
                     "seconds": round(time.perf_counter() - t, 3)}
                )
            timings["em_s"] = sum(s.get("seconds", 0.0) for s in em_sessions)
            raw = linker.misc.save_model_to_json()
            raw.pop("linker_uid", None)
            trained = copy.deepcopy(raw)
            _clean_levels(trained)
        finally:
            con.close()
    created = datetime.now(UTC)
    timings["total_s"] = time.perf_counter() - t0
    training = {
        "records": frame.height,
        "sources": int(frame["source_code"].n_unique()),
        "u_max_pairs": max_pairs,
        "probability_two_random_records_match": trained["probability_two_random_records_match"],
        "em_sessions": em_sessions,
        "population": {"households": population.households,
                       "multiple_births": population.multiple_births,
                       **population.evidence},
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    draft = ModelArtefact(
        version="",
        splink_settings=trained,
        rules=rules or Rules(household_vetoes=population.multiple_births),
        training=training,
        created_at=created.isoformat(timespec="seconds"),
    )
    digest = canonical_hash(draft.body())
    version = f"{created.strftime('%Y%m%dT%H%M%SZ')}-{digest.split(':')[1][:8]}"
    model = write_artefact(
        ModelArtefact(
            version=version,
            splink_settings=trained,
            rules=draft.rules,
            training=training,
            created_at=draft.created_at,
        ),
        out_dir,
    )
    _write_report(model, out_dir)
    return model


def _write_report(model: ModelArtefact, out_dir: Path) -> None:
    weights = _weights(model.splink_settings)
    report = {
        "version": model.version,
        "content_hash": model.content_hash,
        "training": model.training,
        "rules": model.body()["rules"],
        "match_weights": weights,
    }
    (out_dir / f"training-report-{model.version}.json").write_text(
        json.dumps(report, indent=1, default=str) + "\n"
    )
    lines = [
        f"# Linkage model {model.version}",
        "",
        f"Records: {model.training['records']}; sources: {model.training['sources']}; "
        f"prior (two random records match): "
        f"{model.training['probability_two_random_records_match']:.3g}.",
        f"Timings (s): {model.training['timings']}.",
        "",
        "| comparison | level | m | u | weight (log2 m/u) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {w['comparison']} | {w['level']} | {w['m']:.4g} | {w['u']:.4g} | {w['match_weight']} |"
        for w in weights
    ]
    (out_dir / f"training-report-{model.version}.md").write_text("\n".join(lines) + "\n")
