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

from contactpoint.linkage.artefact import ModelArtefact, Rules, canonical_hash, write_artefact
from contactpoint.linkage.frame import conform
from contactpoint.linkage.model import (
    DETERMINISTIC_RULES,
    EM_BLOCKING_RULES,
    base_settings,
)
from contactpoint.linkage.normalise import prepare
from contactpoint.linkage.splinkdb import connect, linker_for, load_table

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


TWIN_BLOCK = "l.dob = r.dob AND l.sn = r.sn"
TWIN_MIN_PAIRS = 3
TWIN_MIN_RATE = 0.002  # within-source twin-pattern pairs per record


def twin_evidence(
    con: duckdb.DuckDBPyConnection, linker: Any, sdf: Any, n_records: int
) -> dict[str, Any]:
    """Does this population hold multiple births? Decides ``Rules.household_vetoes``.

    Counts pairs with the same DOB and surname whose forenames disagree on every level, within
    one source and across sources. A source keeps one record per child, so within-source pairs
    in this pattern are distinct children: twins. Veto on when they reach
    ``max(TWIN_MIN_PAIRS, TWIN_MIN_RATE * records)``.
    """
    for col in ("fn", "sn"):
        linker.table_management.compute_tf_table(col)
    pred = linker.inference.predict_within(
        sdf, blocking_rules_to_generate_predictions=[TWIN_BLOCK], warning_mode="never"
    )
    sql = f"""
    SELECT
      count(*) FILTER (WHERE source_code_l = source_code_r) AS within_pairs,
      count(*) FILTER (WHERE source_code_l = source_code_r AND gamma_forename = 0)
        AS within_twin_pattern,
      count(*) FILTER (WHERE source_code_l <> source_code_r) AS cross_pairs,
      count(*) FILTER (WHERE source_code_l <> source_code_r AND gamma_forename = 0)
        AS cross_twin_pattern
    FROM {pred.physical_name}
    """  # noqa: S608 - internal names and constants only  # nosec B608
    cur = con.cursor()
    try:
        row = cur.execute(sql).fetchall()[0]
    finally:
        cur.close()
    pred.drop_table_from_database_and_remove_from_cache()
    names = ("within_pairs", "within_twin_pattern", "cross_pairs", "cross_twin_pattern")
    out: dict[str, Any] = {k: int(v or 0) for k, v in zip(names, row, strict=True)}
    needed = max(TWIN_MIN_PAIRS, TWIN_MIN_RATE * n_records)
    out["threshold"] = needed
    out["household_vetoes"] = out["within_twin_pattern"] >= needed
    return out


HOUSEHOLD_MIN_PAIRS = 3
HOUSEHOLD_MIN_RATE = 0.01  # within-source pairs sharing a home, different DOB, per record
HOUSEHOLD_SQL = """
SELECT count(*) FROM lf AS l JOIN lf AS r
  ON l.source_code = r.source_code AND l.addr_num = r.addr_num
  AND l.addr_street = r.addr_street AND l.unique_id < r.unique_id
WHERE (l.pc = r.pc OR l.town = r.town) AND l.dob <> r.dob
"""


def household_evidence(con: duckdb.DuckDBPyConnection, n_records: int) -> dict[str, Any]:
    """Does this population live in households? Decides how the address is scored.

    A source keeps one record per person, so two records *of one source* at the same home
    (house number, street, and postcode or town) with different dates of birth are two people
    sharing a home: siblings. A children's population shows them at ~0.6 per record; a
    population where everyone has an address of their own (FEBRL) shows none. With household
    structure the home is ONE comparison (a shared home is no evidence of the same person);
    without it, postcode, number, street, town and carers are separate comparisons.
    """
    cur = con.cursor()
    try:
        rows = cur.execute(HOUSEHOLD_SQL).fetchall()
    finally:
        cur.close()
    pairs = int(rows[0][0]) if rows else 0
    needed = max(HOUSEHOLD_MIN_PAIRS, HOUSEHOLD_MIN_RATE * n_records)
    return {"within_shared_home_pairs": pairs, "threshold": needed,
            "household_structure": pairs >= needed}


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
            households = household_evidence(con, n)
            settings = base_settings(household_structure=bool(households["household_structure"]))
            linker, _, sdfs = linker_for(con, ["lf"], settings)
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
                    linker, _, sdfs = linker_for(con, ["lf"], current)
                    em_sessions.append(
                        {"blocking_rule": rule, "pairs": pairs, "failed": str(exc)[:120]}
                    )
                    continue
                em_sessions.append(
                    {"blocking_rule": rule, "pairs": pairs,
                     "seconds": round(time.perf_counter() - t, 3)}
                )
            timings["em_s"] = sum(s.get("seconds", 0.0) for s in em_sessions)
            t = time.perf_counter()
            twins = twin_evidence(con, linker, sdfs[0], n)
            timings["twin_evidence_s"] = time.perf_counter() - t
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
        "twin_evidence": twins,
        "household_evidence": households,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    draft = ModelArtefact(
        version="",
        splink_settings=trained,
        rules=rules or Rules(household_vetoes=bool(twins["household_vetoes"])),
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
