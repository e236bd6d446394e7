"""Score, veto, band and cluster: the work behind ``engine.dedupe`` and ``engine.match_new``."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from contactpoint.domain.identifiers import UPN_ALLOCATION_LENGTH, UPN_ALLOCATION_START
from contactpoint.matching import fit, prepared
from contactpoint.matching.artefact import ModelArtefact, Rules
from contactpoint.matching.blocking import blocked_pairs_sql, coded, narrowed, new_pairs_sql
from contactpoint.matching.cluster import (
    ConstrainedUnionFind,
    cluster_edges,
    components,
    signature,
)
from contactpoint.matching.frame import Existing, conform
from contactpoint.matching.model import base_settings, gamma, has_comparison, prediction_rules
from contactpoint.matching.normalise import ocr_key, prepare
from contactpoint.matching.query import keys_of_prepared
from contactpoint.matching.slips import lift_school_moves, read_slips
from contactpoint.matching.splinkdb import (
    connect,
    fetch,
    linker_for,
    load_table,
    predict_kept,
    register,
)
from contactpoint.matching.training import train_model
from contactpoint.matching.twins import (
    CUT_SHORT,
    MIDDLE_NAMES_CONFLICT,
    ambiguous_records,
    named_against_identifier,
    twin_named_alike,
)

log = logging.getLogger(__name__)

TF_COLUMNS = ("fn", "sn")
# two UPNs allocated by one school in one year (domain.identifiers.upn_allocation)
ONE_UPN_ALLOCATION = (
    f"coalesce(substr(upn_l, {UPN_ALLOCATION_START}, {UPN_ALLOCATION_LENGTH}) "
    f"= substr(upn_r, {UPN_ALLOCATION_START}, {UPN_ALLOCATION_LENGTH}), false)"
)
# The pairs a model with household vetoes does not score (``scored_rules``): no identifier
# shared, dates of birth wholly different (neither the year nor the day and month agree: the
# "else" level) and forenames not even roughly one name (first letters differ, and they are
# neither variants of one name nor alike in sound). ``v_person`` refuses every such pair
# whatever else agrees. A refused pair can still be the cannot-link that keeps two children
# apart when a third record links to both: sisters Hanna (2016) and Hana (2024), with a
# child-benefit "Hanna" of 2024 between them. Forenames that roughly agree are scored for that
# reason; the rest are siblings at one home, half the pairs of a population with 3.4 records
# per child.
ONE_PERSON_POSSIBLE = (
    "(l.fn IS NULL OR r.fn IS NULL OR substr(l.fn, 1, 1) = substr(r.fn, 1, 1) "
    "OR l.fn_canon = r.fn_canon OR l.fn_mp = r.fn_mp OR l.dob IS NULL OR r.dob IS NULL "
    "OR substr(l.dob, 1, 4) = substr(r.dob, 1, 4) OR substr(l.dob, 6, 5) = substr(r.dob, 6, 5) "
    "OR coalesce(l.nhs = r.nhs, false) OR coalesce(l.upn = r.upn, false))"
)
# a rule holding any of these already implies it
_IMPLY_ONE_PERSON_POSSIBLE = ("l.fn = r.fn", "l.fn_canon = r.fn_canon", "l.fn_mp = r.fn_mp",
                              "l.dob = r.dob", "l.nhs = r.nhs", "l.upn = r.upn")
# what clustering reads of the prepared records (twins, ambiguity, conflicts)
CLUSTER_COLUMNS = ("unique_id", "source_code", "dob", "sn", "sn_names", "pc", "fn", "fn_canon",
                   "fn_mid", "fn_mid_ini", "fn_mid_abbr", "nhs", "upn", "sex")


def veto_select(
    table: str, household_vetoes: bool = True, settings: dict[str, Any] | None = None
) -> str:
    """Pairs with their vetoes (levels named by label in ``settings``, the model's).

    * ``v_nhs``: two different valid NHS numbers (always);
    * ``v_upn``: two different valid UPNs *and* forenames that are not exactly the same (twins
      Muhammad and Mohammed each have their own UPN), or two UPNs of one allocation (one
      school, one year: :func:`~contactpoint.domain.identifiers.upn_allocation`; twins
      admitted together, whatever their names). A school move can give a child a second UPN
      from another school, so its different UPNs under one forename are evidence the model
      weighs, not a veto;
    * ``v_twin`` (household populations): exact DOB, surname agreeing, forenames disagreeing on
      every level but not one cut short from the other (Ayomide and Mide), or both records
      carrying middle names that conflict (twins Rose Molly and Rose Olivia; an initial never
      conflicts with the name it abbreviates: Jannat I and Jannat Iqra Ivy; names in another
      order never conflict: Ismail Ibrahim and Ibrahim Ismail); no shared identifier: children
      born together;
    * ``v_person`` (household populations): no identifier is shared and the person evidence
      is against one child: neither forename nor DOB agrees even roughly, or the forenames
      disagree on every level and the dates of birth are not the same (Jennings on 2017-10-20,
      Chaim on 2016-10-20: siblings, or twins with one date mistyped), or the dates of birth
      are years apart (not a swap, not one field off) and the forenames are not the same
      (Rayan Tariq in 2019 and Ahmed Rayan in 2012): only household facts agree, which
      siblings share too. A shared identifier lifts it, except where the forenames disagree
      on every level and the dates of birth are wholly different (a school nurse's record of
      Urszula, born 2017, carrying her sister Daria's NHS number, born 2018): an identifier
      keyed on a sibling's record, not one child;
    * ``nhs_only``: vetoed by the NHS numbers alone, with the same forename and date of birth
      (at most one field off): one child with two NHS numbers, or a mis-keyed number. Never
      linked; a person decides (review, reason ``nhs_conflict``);
    * ``plausible``: the person evidence could be one child (forename exact, or born in the same
      year, or an identifier shared). A pair in the clerical band that is not plausible agrees on
      household facts and a similar name only: siblings (Sophie and Sofia three years apart),
      not work for a person.
    """
    st = settings if settings is not None else base_settings()
    on = "" if household_vetoes else "false AND "
    shared = "(coalesce(nhs_l = nhs_r, false) OR coalesce(upn_l = upn_r, false))"
    dob_exact = gamma(st, "dob", "exact")
    dob_person = gamma(st, "dob", "one field or one character off")
    fn_else = gamma(st, "forename", "else")
    fn_person = gamma(st, "forename", "phonetic or similar")
    fn_same = gamma(st, "forename", "nickname, variant or another forename")
    sn_agree = gamma(st, "surname", "typo")
    fn_exact = gamma(st, "forename", "exact")
    dob_else = gamma(st, "dob", "else")
    dob_year = gamma(st, "dob", "same year")
    homes_apart = (f"gamma_household = {gamma(st, 'household', 'else')}"
                   if has_comparison(st, "household") else "false")
    return f"""
    SELECT unique_id_l AS l, unique_id_r AS r, match_probability AS p, match_weight AS w,
      coalesce(nhs_l <> nhs_r, false) AS v_nhs,
      coalesce(upn_l <> upn_r, false)
        AND (gamma_forename < {fn_exact} OR {ONE_UPN_ALLOCATION}) AS v_upn,
      ({on}gamma_dob = {dob_exact}
        AND ((gamma_forename = {fn_else} AND NOT {CUT_SHORT}) OR {MIDDLE_NAMES_CONFLICT})
        AND gamma_surname >= {sn_agree} AND NOT {shared}) AS v_twin,
      ({on}((((gamma_forename < {fn_person} AND gamma_dob < {dob_person})
              OR (gamma_forename < {fn_exact} AND gamma_dob = {dob_else})
              OR (gamma_forename = {fn_else} AND gamma_dob < {dob_exact} AND NOT {CUT_SHORT}))
             AND NOT {shared})
            OR (gamma_forename = {fn_else} AND NOT {CUT_SHORT} AND gamma_dob = {dob_else})))
        AS v_person,
      {shared} AS shared_id,
      coalesce(nhs_l <> nhs_r, false) AND gamma_forename >= {fn_same}
        AND gamma_dob >= {dob_person} AND NOT {MIDDLE_NAMES_CONFLICT}
        AND NOT {homes_apart} AS nhs_only,
      ((gamma_forename >= {fn_exact} AND gamma_dob <> {dob_else}) OR gamma_dob >= {dob_year}
        OR {shared}) AS plausible
    FROM {table}
    """  # noqa: S608 - internal names and constants only  # nosec B608


def scored_rules(model: ModelArtefact) -> list[str]:
    """The model's prediction blocking rules, each narrowed to the pairs its vetoes could let
    through (:data:`ONE_PERSON_POSSIBLE`, for a model with household vetoes)."""
    rules = prediction_rules(model.splink_settings)
    if not model.rules.household_vetoes:
        return rules
    return narrowed(rules, ONE_PERSON_POSSIBLE, _IMPLY_ONE_PERSON_POSSIBLE)


def _edges(
    con: duckdb.DuckDBPyConnection, table: str, rules: Rules, settings: dict[str, Any]
) -> pl.DataFrame:
    """Pairs at or above the review band (vetoed ones flagged), highest probability first."""
    sql = f"""
    WITH v AS ({veto_select(table, rules.household_vetoes, settings)})
    SELECT l, r, p, w, (v_nhs OR v_upn OR v_twin OR v_person) AS vetoed,
      nhs_only AND NOT (v_upn OR v_twin OR v_person) AS nhs_only,
      v_upn AND NOT (v_nhs OR v_twin OR v_person) AS upn_only,
      (v_twin OR v_person) AND NOT (v_nhs OR v_upn OR shared_id) AS soft, plausible
    FROM v WHERE p >= {rules.review_probability}
    """  # noqa: S608 - internal names and constants only  # nosec B608
    return fetch(con, sql)


def _signatures(lf: pl.DataFrame) -> list[dict[str, set[tuple[str, str]]] | None]:
    """Each record's (source, DOB, forename): twins may be named as variants of one name
    (Muhammad and Mohammed), so only the same forename is the same child."""
    return [
        signature(src, dob, fn)
        for src, dob, fn in zip(lf["source_code"], lf["dob"], lf["fn"], strict=True)
    ]


def _identifier_sets(values: pl.Series) -> list[frozenset[str]]:
    return [frozenset((v,)) if v is not None else frozenset() for v in values.to_list()]


def _persons(lf: pl.DataFrame) -> list[frozenset[tuple[str, str]]]:
    """Each record's (forename, date of birth), when it has both."""
    return [frozenset(((fn, dob),)) if fn is not None and dob is not None else frozenset()
            for fn, dob in zip(lf["fn"], lf["dob"], strict=True)]


def _middles(lf: pl.DataFrame) -> list[frozenset[str]]:
    """Each record's middle names (none when the frame carries none)."""
    if "fn_mid" not in lf.columns:
        return []
    return [frozenset(m.split()) if m else frozenset() for m in lf["fn_mid"].to_list()]


def _constrained_roots(
    nodes: pl.DataFrame, linkable: pl.DataFrame, cannot: pl.DataFrame, *,
    one_record_per_source: bool = True,
) -> tuple[pl.Series, list[int]]:
    """Cluster the ``nodes`` (index ``i`` = row) along the ``linkable`` edges (``il``, ``ir``,
    in order), never across a ``cannot`` pair or a conflict (:mod:`.cluster`).

    Returns each node's root and the positions of the edges refused. Most connected components
    of the edges cannot hold a conflict at all (no cannot-link pair inside, at most one NHS
    number and one UPN, no source with two forenames on one date of birth): every edge of such
    a component would be accepted, so it is one cluster as it stands. Only the others go edge
    by edge through the union-find, which gives the same result as sending everything.
    """
    il, ir = linkable["il"].to_numpy(), linkable["ir"].to_numpy()
    comp = components(nodes.height, il, ir)
    nodes = nodes.select("nhs", "upn", "source_code", "dob", "fn",
                         *[c for c in ("fn_mid", "fn_canon") if c in nodes.columns],
                         pl.Series("comp", comp))
    # two UPNs can conflict only where the records name more than one (forename, date)
    two_identifiers = nodes.group_by("comp").agg(
        (pl.col("nhs").drop_nulls().n_unique() > 1)
        | ((pl.col("upn").drop_nulls().n_unique() > 1)
           & ((pl.struct("fn", "dob").n_unique() > 1)
              | pl.col("fn").is_null().any() | pl.col("dob").is_null().any()))
    ).filter(pl.col("nhs"))["comp"]
    two_forenames = (
        nodes.filter(pl.col("source_code").is_not_null() & pl.col("dob").is_not_null())
        .group_by("comp", "source_code", "dob").agg(pl.col("fn").fill_null("").n_unique())
        .filter(pl.col("fn") > 1)["comp"]
    ) if one_record_per_source else pl.Series("comp", [], dtype=pl.Int64)
    cl, cr = cannot["il"].to_numpy(), cannot["ir"].to_numpy()
    inside = comp[cl] == comp[cr]
    cl, cr = cl[inside], cr[inside]
    hard = np.zeros(nodes.height, dtype=bool)  # by component label
    hard[pl.concat([two_identifiers, two_forenames]).to_numpy()] = True
    hard[comp[cl]] = True
    members = np.flatnonzero(hard[comp])
    local = np.full(nodes.height, -1, dtype=np.int64)
    local[members] = np.arange(len(members))
    sub = nodes[members]
    uf = ConstrainedUnionFind(
        sub.height,
        nhs=_identifier_sets(sub["nhs"]),
        upn=_identifier_sets(sub["upn"]),
        signatures=_signatures(sub) if one_record_per_source else [],
        persons=_persons(sub),
        middles=_middles(sub),
        canons=sub["fn_canon"].to_list() if "fn_canon" in sub.columns else [],
        ocr=[ocr_key(f) if f else None for f in sub["fn"].to_list()],
    )
    # vetoed by the names alone (no identifier against the pair): see :mod:`.cluster`
    soft = (cannot["soft"].fill_null(False).to_numpy().astype(bool) if "soft" in cannot.columns
            else np.zeros(len(inside), dtype=bool))[inside]
    uf.add_cannot_links(zip(local[cl[~soft]].tolist(), local[cr[~soft]].tolist(), strict=True))
    uf.add_soft_cannot_links(zip(local[cl[soft]].tolist(), local[cr[soft]].tolist(),
                                 strict=True))
    hard_pos = np.flatnonzero(hard[comp[il]])
    refused = cluster_edges(uf, local[il[hard_pos]].tolist(), local[ir[hard_pos]].tolist())
    # a component's label is its root; inside the others the union-find's, past every label
    root = comp.copy()
    root[members] = np.asarray(uf.roots(), dtype=np.int64) + nodes.height
    return pl.Series("root", root), hard_pos[refused].tolist()


def predict_pairs(
    con: duckdb.DuckDBPyConnection,
    table: str,
    pairs: str,
    settings: dict[str, Any],
    floor_weight: float,
    *,
    frequencies_over: tuple[str, ...] = (),
) -> Any:
    """Splink's predictions (match weight >= ``floor_weight``) for the pairs of records of
    ``table`` in the table ``pairs`` (:mod:`.blocking`'s layout): Splink's own predict SQL, given
    the blocked pairs, keeping of each record what the vetoes read (``predict_kept``). Term
    frequencies are counted over ``table``, or over the union of the
    ``frequencies_over`` tables (a day's records: over the whole population)."""
    linker, db_api, _ = linker_for(con, [table], settings)
    for col in TF_COLUMNS if frequencies_over else ():
        values = " UNION ALL ".join(f"SELECT {col} FROM {t}" for t in frequencies_over)  # noqa: S608 - internal names only  # nosec B608
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE tf_lookup_{col} AS "  # noqa: S608 - internal names only  # nosec B608
            f"SELECT {col}, count(*) / sum(count(*)) OVER () AS tf_{col} FROM ({values}) "
            f"WHERE {col} IS NOT NULL GROUP BY {col}"
        )
        tf = db_api.register(f"tf_lookup_{col}", table_name=f"in_tf_lookup_{col}")
        linker.table_management.register_term_frequency_lookup(tf, col)
    registered = linker.table_management.register_blocked_pairs_for_predict(
        db_api.register(pairs, table_name=f"in_{pairs}")
    )
    return predict_kept(linker, registered, floor_weight)


def _batch_pairs(con: duckdb.DuckDBPyConnection, rules: list[str], table: str) -> str:
    """SQL of a batch's blocked pairs, joined over codes (``blocking.coded``) when it can."""
    codes = coded(rules, table, f"{table}_codes")
    if codes is None:
        return blocked_pairs_sql(rules, table)
    con.execute(codes.table_sql)
    return blocked_pairs_sql(codes.rules, f"{table}_codes")


def _floor_below(probability: float, floor_weight: float) -> float:
    """A match-weight floor a hair below ``probability`` (never below ``floor_weight``)."""
    if not 0 < probability < 1:
        return floor_weight
    return max(floor_weight, math.log2(probability / (1 - probability)) - 1e-6)


def run_dedupe(
    records: pl.DataFrame | pl.LazyFrame, model: ModelArtefact, workdir: Path,
    keep_dir: Path | None = None, fit_dir: Path | None = None,
) -> Any:
    from contactpoint.matching.engine import LinkResult

    rules = model.rules
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    frame = conform(records.collect() if isinstance(records, pl.LazyFrame) else records)
    lf = prepare(frame)
    timings["prepare_s"] = time.perf_counter() - t0
    t = time.perf_counter()
    key_files = _spill_search_keys(lf, workdir)
    timings["search_keys_s"] = time.perf_counter() - t
    if keep_dir is not None:  # the prepared records, ready for the next day's match_new
        t = time.perf_counter()  # (before scoring: the process is smallest now)
        with prepared.opened(keep_dir) as kept:
            prepared.keep_prepared(kept, frame, lf)
        timings["keep_s"] = time.perf_counter() - t
    con = connect(workdir)
    try:
        t = time.perf_counter()
        load_table(con, "lf", lf)
        timings["load_s"] = time.perf_counter() - t
        n_records = frame.height
        trained: ModelArtefact | None = None
        fit_report: dict[str, Any] | None = None
        if fit_dir is not None:  # out of the box: does the model fit this population?
            t = time.perf_counter()
            fitted = fit.assess(con, n_records, model)
            timings["fit_s"] = time.perf_counter() - t
            fit_report = fitted.as_dict()
            if not fitted.fits:
                t_train = time.perf_counter()
                trained = model = train_model(frame, fit_dir, workdir=workdir / "train")
                rules = model.rules
                timings["train_s"] = time.perf_counter() - t_train
            fit_report["model_version"] = model.version
            log.info("model fit", extra={"linkage_fit": fit_report})
        # DuckDB holds the prepared records now: Python's copies would sit through predict
        # (the run's peak); what clustering reads of them comes back after
        del frame, lf
        t = time.perf_counter()
        con.execute(f"CREATE TABLE lf_pairs AS {_batch_pairs(con, scored_rules(model), 'lf')}")
        con.execute("DROP TABLE IF EXISTS lf_codes")
        timings["blocking_s"] = time.perf_counter() - t
        t = time.perf_counter()
        scored = int(fetch(con, "SELECT count(*) AS n FROM lf_pairs")["n"][0])
        # only what clustering reads is kept: the pairs at or above the review band (a hair
        # below it here; ``_edges`` applies the band itself), not the floor a day's match
        # keeps (half the predictions at 1 M, each written to the work database)
        pred = predict_pairs(con, "lf", "lf_pairs", model.splink_settings,
                             _floor_below(rules.review_probability, rules.score_floor_weight))
        timings["predict_s"] = time.perf_counter() - t
        t = time.perf_counter()
        edges = _edges(con, pred.physical_name, rules, model.splink_settings)
        lf = fetch(con, f"SELECT {', '.join(CLUSTER_COLUMNS)} FROM lf")  # noqa: S608 - internal names only  # nosec B608
        timings["edges_s"] = time.perf_counter() - t
    finally:
        con.close()

    t = time.perf_counter()
    keys = lf.get_column("unique_id")
    linkable_mask = ~pl.col("vetoed") & (pl.col("p") >= rules.link_probability)
    n_ambiguous = 0
    if rules.household_vetoes:
        # a source's keying slip (Jfef beside its own Jeff) is no second child (slips.py); two
        # UPNs under one forename once the slip is read are a school move, weighed, not vetoed
        reading = read_slips(lf)
        edges = lift_school_moves(edges, reading)
        lf = lf.with_columns(reading.get_column("fn"))
        strong = edges.filter(linkable_mask)
        # a record whose identifier names one twin and whose forename the other is in doubt
        amb = pl.concat([ambiguous_records(strong, lf),
                         named_against_identifier(strong, lf)]).unique().implode()
        wrong_twin = twin_named_alike(strong, lf).with_columns(pl.lit(True).alias("wrong_twin"))
        edges = edges.join(wrong_twin, on=["l", "r"], how="left").with_columns(
            (pl.col("vetoed") | pl.col("wrong_twin").fill_null(False)).alias("vetoed"),
            (pl.col("soft") & ~pl.col("wrong_twin").fill_null(False)).alias("soft"),
        ).drop("wrong_twin")
        linkable_mask = ~pl.col("vetoed") & (pl.col("p") >= rules.link_probability)
        n_ambiguous = int(amb.list.len()[0])
        edges = edges.with_columns(
            (pl.col("l").is_in(amb) | pl.col("r").is_in(amb)).alias("ambiguous")
        )
        linkable_mask = linkable_mask & ~pl.col("ambiguous")
    else:
        edges = edges.with_columns(pl.lit(False).alias("ambiguous"))
    # Only records on an auto-link edge can join anything: the union-find holds just those.
    active = (
        edges.filter(linkable_mask)
        .select(pl.concat_list("l", "r").alias("k"))
        .explode("k")
        .unique()
        .sort("k")
    )
    nodes = active.join(lf.rename({"unique_id": "k"}), on="k", how="left")
    index = nodes.select("k", pl.int_range(0, pl.len()).alias("i"))
    edges = (
        edges.join(index.rename({"k": "l", "i": "il"}), on="l", how="left")
        .join(index.rename({"k": "r", "i": "ir"}), on="r", how="left")
        .sort(["w", "l", "r"], descending=[True, False, False])
    )
    vetoed = edges.filter(pl.col("vetoed"))
    inside = vetoed.filter(pl.col("il").is_not_null() & pl.col("ir").is_not_null())
    linkable = edges.filter(linkable_mask)
    # one source, one DOB, two names = two children born together: only where the
    # population holds multiple births (FEBRL's single files hold typo'd duplicates instead)
    root, refused_pos = _constrained_roots(nodes, linkable, inside,
                                           one_record_per_source=rules.household_vetoes)
    roots = pl.DataFrame({"record_key": nodes["k"], "root": root})
    clusters = (
        pl.DataFrame({"record_key": keys})
        .join(roots, on="record_key", how="left")
        .with_columns(
            pl.when(pl.col("root").is_null())
            .then(pl.col("record_key"))
            .otherwise(pl.col("record_key").min().over("root"))
            .alias("cluster_key")
        )
        .select("record_key", "cluster_key")
    )
    timings["cluster_s"] = time.perf_counter() - t

    ck = clusters.rename({"record_key": "k"})
    refused = _close_calls(linkable[refused_pos], linkable, clusters, rules).with_columns(
        pl.lit("conflict").alias("reason"))
    band = edges.filter(
        ~pl.col("vetoed") & (pl.col("p") < rules.link_probability) & pl.col("plausible")
    ).with_columns(pl.lit("clerical_band").alias("reason"))
    ambiguous = edges.filter(
        ~pl.col("vetoed") & pl.col("ambiguous") & (pl.col("p") >= rules.link_probability)
    ).with_columns(pl.lit("ambiguous").alias("reason"))
    nhs_conflict = edges.filter(pl.col("nhs_only") & (pl.col("p") >= rules.link_probability)
                                ).with_columns(pl.lit("nhs_conflict").alias("reason"))
    review = (
        pl.concat([refused, ambiguous, band, nhs_conflict])
        .join(ck.rename({"k": "l", "cluster_key": "cl"}), on="l")
        .join(ck.rename({"k": "r", "cluster_key": "cr"}), on="r")
        .filter(pl.col("cl") != pl.col("cr"))
        # ties in p broken by the keys: which pair stands for two clusters does not depend on
        # the order DuckDB's threads returned the predictions in
        .sort(["p", "l", "r"], descending=[True, False, False], maintain_order=True)
        .unique(subset=["cl", "cr"], keep="first", maintain_order=True)
        .select(
            pl.col("l").alias("record_key_l"),
            pl.col("r").alias("record_key_r"),
            pl.col("p").cast(pl.Float64).alias("match_probability"),
            pl.col("reason"),
        )
    )
    stats: dict[str, Any] = {
        "records": n_records,
        "scored_pairs": scored,
        "pairs_at_or_above_review": edges.height,
        "vetoed_pairs": vetoed.height,
        "auto_link_pairs": linkable.height,
        "refused_by_constraint": len(refused_pos),
        "ambiguous_records": n_ambiguous,
        "review_pairs": review.height,
        "clusters": int(clusters["cluster_key"].n_unique()),
        **{k: round(v, 3) for k, v in timings.items()},
        "total_s": round(time.perf_counter() - t0, 3),
    }
    if fit_report is not None:
        stats["model_fit"] = fit_report
    log.info("dedupe finished", extra={"linkage_stats": stats})
    return LinkResult(clusters=clusters, review_pairs=review, stats=stats, model=trained,
                      search_keys=key_files)


_KEY_SLICE = 200_000


def _spill_search_keys(lf: pl.DataFrame, workdir: Path) -> tuple[Path, ...]:
    """Every prepared record's search keys into Arrow IPC files in ``workdir`` (a slice at a
    time: no second copy of the nation's keys in memory), for the link run to store."""
    workdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, part in enumerate(lf.iter_slices(_KEY_SLICE)):
        path = workdir / f"search-keys-{n:05d}.arrow"
        keys_of_prepared(part).write_ipc(path)
        paths.append(path)
    return tuple(paths)


def _close_calls(
    refused: pl.DataFrame, linkable: pl.DataFrame, clusters: pl.DataFrame, rules: Rules
) -> pl.DataFrame:
    """The refused edges worth a person's look: those whose weight comes within
    ``rules.review_margin_weight`` bits of the edge by which either record joined its own
    child. An edge far weaker than both records' own (a namesake born the same day in
    another town, kept apart by two NHS numbers) was no close call."""
    ck = clusters.rename({"record_key": "k"})
    inside = (
        linkable.select("l", "r", "w")
        .join(ck.rename({"k": "l", "cluster_key": "cl"}), on="l")
        .join(ck.rename({"k": "r", "cluster_key": "cr"}), on="r")
        .filter(pl.col("cl") == pl.col("cr"))
    )
    own = pl.concat([inside.select(pl.col("l").alias("x"), "w"),
                     inside.select(pl.col("r").alias("x"), "w")]
                    ).group_by("x").agg(pl.col("w").max().alias("best"))
    margin = rules.review_margin_weight
    return (
        refused.join(own.rename({"x": "l", "best": "best_l"}), on="l", how="left")
        .join(own.rename({"x": "r", "best": "best_r"}), on="r", how="left")
        .filter(
            (pl.col("w") > pl.col("best_l").fill_null(float("inf")) - margin)
            | (pl.col("w") > pl.col("best_r").fill_null(float("inf")) - margin)
        )
        .drop("best_l", "best_r")
    )


def run_match_new(
    existing: Existing, new: pl.DataFrame, model: ModelArtefact, workdir: Path
) -> pl.DataFrame:
    """Bring the store of existing records in ``workdir`` up to date (:mod:`.prepared`), score
    the new records against every existing record and among themselves, then decide."""
    from contactpoint.matching.engine import MATCH_NEW_SCHEMA

    rules = model.rules
    nw = conform(new)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    with prepared.opened(workdir) as con:
        afresh = prepared.update(con, existing)
        timings["update_s"] = time.perf_counter() - t
        if nw.height == 0:
            return pl.DataFrame(schema=MATCH_NEW_SCHEMA)
        t = time.perf_counter()
        lf_new = prepare(nw)
        prepared.stage(con, nw, lf_new)  # once linked, the store takes them from there
        keys = keys_of_prepared(lf_new)  # for the link run to store (as engine.search_keys)
        cols = ", ".join(prepared.columns(con))
        con.execute(f"CREATE OR REPLACE TEMP VIEW lf_ex AS SELECT {cols} FROM {prepared.TABLE}")  # noqa: S608 - internal names only  # nosec B608
        with register(con, "__cp_new", lf_new):
            con.execute(f"CREATE OR REPLACE TEMP TABLE lf_new AS SELECT {cols} FROM __cp_new")  # noqa: S608 - internal names only  # nosec B608
        # pairs first (of new records only); then the existing records in them, as a table:
        # Splink reads its input more than once
        pairs = new_pairs_sql(scored_rules(model), "lf_ex", "lf_new")
        con.execute(f"CREATE OR REPLACE TEMP TABLE new_pairs AS {pairs}")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE lf_all AS SELECT * FROM lf_ex WHERE unique_id IN "
            "(SELECT join_key_l FROM new_pairs UNION SELECT join_key_r FROM new_pairs) "
            "UNION ALL SELECT * FROM lf_new"
        )
        timings["candidates_s"] = time.perf_counter() - t
        t = time.perf_counter()
        pred = predict_pairs(con, "lf_all", "new_pairs", model.splink_settings,
                             rules.score_floor_weight, frequencies_over=("lf_ex", "lf_new"))
        veto = "(v_nhs OR v_upn OR v_twin OR v_person)"
        vetoes = veto_select(pred.physical_name, rules.household_vetoes, model.splink_settings)
        scored = (f"SELECT l, r, p, w, {veto} AS vetoed, "  # noqa: S608 - internal names only  # nosec B608
                  f"nhs_only AND NOT (v_upn OR v_twin OR v_person) AS nhs_only, "
                  f"v_upn AND NOT (v_nhs OR v_twin OR v_person) AS upn_only, plausible "
                  f"FROM ({vetoes})")
        with register(con, "__cp_new_keys", nw.select(pl.col("record_key").alias("k"))):
            both_new = ("l IN (SELECT k FROM __cp_new_keys) AND "
                        "r IN (SELECT k FROM __cp_new_keys)")
            cross = fetch(con, f"SELECT * FROM ({scored}) WHERE NOT ({both_new})")  # noqa: S608 - internal names and constants only  # nosec B608
            inner = fetch(con, f"SELECT * FROM ({scored}) WHERE {both_new} "  # noqa: S608 - internal names and constants only  # nosec B608
                               f"AND p >= {rules.review_probability}")
        pred.drop_table_from_database_and_remove_from_cache()
        timings["predict_s"] = time.perf_counter() - t
        t = time.perf_counter()
        # every record of every candidate child, with what deciding needs of it
        hit = pl.concat([cross["l"], cross["r"]]).unique().to_frame("unique_id")
        with register(con, "__cp_hit", hit):
            ex = fetch(
                con,
                f"SELECT e.unique_id AS record_key, c.child_key, "  # noqa: S608 - internal names only  # nosec B608
                f"s.child_key IS NOT NULL AS shielded, e.nhs AS nhs_number, e.upn, "
                f"e.source_code, e.dob, e.fn, e.sex, e.fn_mid FROM {prepared.TABLE} e "
                f"JOIN {prepared.CHILDREN} c ON c.unique_id = e.unique_id "
                f"LEFT JOIN {prepared.SHIELDED} s ON s.child_key = c.child_key "
                f"WHERE c.child_key IN (SELECT h.child_key FROM {prepared.CHILDREN} h "
                "JOIN __cp_hit USING (unique_id))",
            )
        if rules.household_vetoes:  # keying slips, read as from scratch (slips.py)
            ex, lf_new, cross, inner = _read_slips_of_day(con, ex, lf_new, cross, inner)
    out = _decide(ex, nw, lf_new, cross, inner, rules)
    timings["decide_s"] = time.perf_counter() - t
    # the new records' search keys, from their preparation (before any slip reading)
    out = out.join(keys, on="record_key", how="left")
    log.info("match_new finished", extra={"linkage_stats": {
        "existing_changed": existing.records.height, "complete": existing.complete,
        "new": nw.height, "prepared_afresh": afresh, "cross_pairs": cross.height,
        **{k: round(v, 3) for k, v in timings.items()}}})
    return out


def _read_slips_of_day(
    con: duckdb.DuckDBPyConnection, ex: pl.DataFrame, lf_new: pl.DataFrame,
    cross: pl.DataFrame, inner: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The day's records and their candidate children's with each keying slip read as the
    forename it mistypes, and the UPN vetoes a slip alone made lifted: the rule ``dedupe``
    applies (:mod:`.slips`), over the records that decide a new record's child. Whether a
    forename is carried by other records is counted over the whole population."""
    cols = ["unique_id", "source_code", "dob", "fn", "sex", "fn_mid"]
    rel = pl.concat([
        lf_new.select(cols),
        ex.select(pl.col("record_key").alias("unique_id"), *cols[1:]),
    ]).unique("unique_id", keep="first", maintain_order=True)
    names = rel.select(pl.col("fn").drop_nulls().unique())
    with register(con, "__cp_slip_names", names):
        counts = fetch(con, "SELECT fn, count(*) AS n FROM (SELECT fn FROM lf_ex UNION ALL "
                            "SELECT fn FROM lf_new) WHERE fn IN (SELECT fn FROM "
                            "__cp_slip_names) GROUP BY fn")
    reading = read_slips(rel, counts)
    fn_of = reading.select("unique_id", pl.col("fn").alias("fn_read"))

    def read(frame: pl.DataFrame, key: str) -> pl.DataFrame:
        return frame.join(fn_of.rename({"unique_id": key}), on=key, how="left",
                          maintain_order="left").with_columns(
            pl.coalesce("fn_read", "fn").alias("fn")).drop("fn_read")

    return (read(ex, "record_key"), read(lf_new, "unique_id"),
            lift_school_moves(cross, reading), lift_school_moves(inner, reading))


def _decide(
    ex: pl.DataFrame,
    nw: pl.DataFrame,
    lf_new: pl.DataFrame,
    cross: pl.DataFrame,
    inner: pl.DataFrame,
    rules: Rules,
) -> pl.DataFrame:
    """``ex``: every existing record of every candidate child (``record_key``, ``child_key``,
    ``shielded``, ``nhs_number``, ``upn``, ``source_code``, ``dob``, ``fn``)."""
    # pairs come with the smaller key on the left; orient them to (existing, new).
    new_keys = nw.get_column("record_key")
    cross = cross.with_columns(
        pl.when(pl.col("r").is_in(new_keys.implode())).then(pl.col("l")).otherwise(pl.col("r"))
        .alias("ek"),
        pl.when(pl.col("r").is_in(new_keys.implode())).then(pl.col("r")).otherwise(pl.col("l"))
        .alias("nk"),
    )
    child_of = ex.select(pl.col("record_key").alias("ek"), "child_key", "shielded")
    cross = cross.join(child_of, on="ek")
    # A child is a candidate for a new record unless some record of it vetoes the pair.
    per_child = cross.group_by(["nk", "child_key"]).agg(
        # a candidate vetoed only by a second NHS number, names and date agreeing, is
        # reviewed by a person (never linked): its probability counts for review
        pl.when((~pl.col("vetoed") | pl.col("nhs_only"))
                & (pl.col("plausible") | (pl.col("p") >= rules.link_probability)))
        .then(pl.col("p")).max().fill_null(0.0).alias("p_review"),
        pl.col("p").filter(~pl.col("vetoed")).max().fill_null(0.0).alias("p"),
        pl.col("w").filter(~pl.col("vetoed")).max().fill_null(-99.0).alias("w"),
        pl.col("vetoed").any().alias("vetoed"),
        pl.col("shielded").first().alias("shielded"),
    )
    candidates = per_child.get_column("child_key").unique().implode()
    children = ex.filter(pl.col("child_key").is_in(candidates)).group_by("child_key").agg(
        pl.col("nhs_number").drop_nulls().unique().alias("nhs"),
        pl.col("upn").drop_nulls().unique().alias("upn"),
    )
    cand_children = children.join(per_child.select("child_key").unique(), on="child_key")
    n_new = nw.height
    child_index = cand_children.with_columns(
        (pl.arange(0, cand_children.height) + n_new).alias("ci")
    )
    new_index = pl.DataFrame({"nk": new_keys, "ni": pl.arange(0, n_new, eager=True)})
    size = n_new + child_index.height
    nhs = [frozenset((v,)) if v else frozenset() for v in nw["nhs_number"].to_list()]
    nhs += [frozenset(v) for v in child_index["nhs"].to_list()]
    upn = [frozenset((v,)) if v else frozenset() for v in nw["upn"].to_list()]
    upn += [frozenset(v) for v in child_index["upn"].to_list()]
    child_sigs = ex.select("child_key", "source_code", "dob", "fn").join(
        child_index.select("child_key", "ci"), on="child_key"
    )
    sig_by_child: dict[int, dict[str, set[tuple[str, str]]]] = {}
    for ci, src, dob, fn in zip(
        child_sigs["ci"], child_sigs["source_code"], child_sigs["dob"], child_sigs["fn"],
        strict=True,
    ):
        if src is not None and dob is not None:
            sig_by_child.setdefault(ci, {}).setdefault(src, set()).add((dob, fn or ""))
    new_lf = pl.DataFrame({"unique_id": new_keys}).join(lf_new, on="unique_id", how="left")
    sigs = (_signatures(new_lf) + [sig_by_child.get(ci) for ci in child_index["ci"].to_list()]
            if rules.household_vetoes else [])
    persons_of_child: dict[int, set[tuple[str, str]]] = {}
    for ci, dob, fn in zip(child_sigs["ci"], child_sigs["dob"], child_sigs["fn"], strict=True):
        if dob is not None and fn is not None:
            persons_of_child.setdefault(ci, set()).add((fn, dob))
    persons = _persons(new_lf) + [frozenset(persons_of_child.get(ci, ()))
                                  for ci in child_index["ci"].to_list()]
    uf = ConstrainedUnionFind(
        size, nhs=nhs, upn=upn, anchored=[False] * n_new + [True] * (size - n_new),
        signatures=sigs, persons=persons,
    )

    pc = per_child.join(new_index, on="nk").join(child_index.select("child_key", "ci"),
                                                  on="child_key")
    inner_i = (
        inner.join(new_index.rename({"nk": "l", "ni": "a"}), on="l")
        .join(new_index.rename({"nk": "r", "ni": "b"}), on="r")
    )
    cannot = [*zip(pc.filter("vetoed")["ni"].to_list(), pc.filter("vetoed")["ci"].to_list(),
                   strict=True)]
    cannot += [*zip(inner_i.filter("vetoed")["a"].to_list(),
                    inner_i.filter("vetoed")["b"].to_list(), strict=True)]
    uf.add_cannot_links(cannot)
    # A new record that auto-links to two existing children (similar-named twins, a child
    # the index holds twice) does not pick one: it goes to review (household populations).
    strong = pc.filter(~pl.col("vetoed") & (pl.col("p") >= rules.link_probability))
    ambiguous = (
        strong.group_by("ni").len().filter(pl.col("len") > 1)["ni"].implode()
        if rules.household_vetoes
        else pl.Series("ni", [], dtype=pl.Int64).implode()
    )
    links = pl.concat(
        [
            pc.filter(~pl.col("vetoed")).select(pl.col("ni").alias("a"), pl.col("ci").alias("b"),
                                                "p", "w"),
            inner_i.filter(~pl.col("vetoed")).select("a", "b", "p", "w"),
        ]
    ).filter(
        (pl.col("p") >= rules.link_probability)
        & ~pl.col("a").is_in(ambiguous) & ~pl.col("b").is_in(ambiguous)
    ).sort("w", descending=True)
    cluster_edges(uf, links["a"].to_list(), links["b"].to_list())
    roots = uf.roots()
    root_child = {
        uf.find(ci): ck for ci, ck in zip(child_index["ci"], child_index["child_key"], strict=True)
    }
    best = (
        pc.sort(["p_review", "w", "child_key"], descending=[True, True, False])
        .group_by("ni", maintain_order=True)
        .first()
        .select("ni", "child_key", pl.col("p_review").alias("p"), "shielded")
    )
    out = new_index.with_columns(pl.Series("root", roots[:n_new], dtype=pl.Int64))
    out = out.with_columns(
        pl.col("nk").min().over("root").alias("new_cluster_key"),
        pl.col("root").replace_strict(root_child, default=None, return_dtype=pl.Int64)
        .alias("linked_child"),
    ).join(best, on="ni", how="left")
    linked_p = pc.select("ni", pl.col("child_key").alias("linked_child"), pl.col("p").alias("lp"))
    out = out.join(linked_p, on=["ni", "linked_child"], how="left")
    p_best = pl.col("p").fill_null(0.0)
    decision = (
        pl.when(pl.col("linked_child").is_not_null()).then(pl.lit("link"))
        .when(p_best >= rules.review_probability).then(pl.lit("review"))
        .when(pl.col("shielded").fill_null(False) & (p_best >= rules.shield_floor_probability))
        .then(pl.lit("review"))
        .otherwise(pl.lit("new"))
    )
    out = out.with_columns(decision.alias("decision")).with_columns(
        pl.when(pl.col("decision") == "link").then(pl.col("linked_child"))
        .when(pl.col("decision") == "review").then(pl.col("child_key"))
        .otherwise(pl.col("child_key"))
        .alias("child_key"),
        pl.when(pl.col("decision") == "link")
        .then(pl.coalesce(pl.col("lp"), pl.lit(rules.link_probability)))
        .otherwise(p_best)
        .alias("match_probability"),
    )
    return out.select(
        pl.col("nk").alias("record_key"),
        "decision",
        pl.col("child_key").cast(pl.Int64),
        pl.col("match_probability").cast(pl.Float64),
        pl.col("new_cluster_key").cast(pl.Int64),
    ).sort("record_key")
