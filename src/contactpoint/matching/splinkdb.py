"""DuckDB + Splink plumbing: a file-backed database in the work directory, tables, linkers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from splink import DuckDBAPI, Linker
from splink.internals.comparison_vector_values import (
    compute_comparison_vector_values_from_id_pairs_sqls,
)
from splink.internals.pipeline import CTEPipeline
from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings
from splink.internals.splink_dataframe import SplinkDataFrame
from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

from contactpoint.matching.model import PAIR_COLUMNS, with_veto_columns

THREADS = int(os.environ.get("CONTACTPOINT_LINKAGE_THREADS", "2"))
# DuckDB runs in the link process: its buffers and the run's polars frames share one peak
# (target at 1 M children: 6 GB in all). Above this DuckDB spills to ``duckdb-tmp``.
MEMORY_LIMIT = os.environ.get("CONTACTPOINT_LINKAGE_MEMORY", "3GB")

for _name in ("splink", "splink.internals"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def connect(
    workdir: Path, name: str = "linkage.duckdb", *, keep: bool = False
) -> duckdb.DuckDBPyConnection:
    """A file-backed DuckDB database in ``workdir`` (threads and memory bounded): a fresh one,
    or with ``keep`` the one left there by an earlier call (Splink's scratch tables dropped)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / name
    if not keep:
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    if keep:  # what Splink left behind last time
        for table, kind in con.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE starts_with(table_name, '__splink')"
        ).fetchall():
            con.execute(f'DROP {"VIEW" if kind == "VIEW" else "TABLE"} IF EXISTS "{table}"')
    con.execute(f"SET threads = {THREADS}")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    tmp = workdir / "duckdb-tmp"
    tmp.mkdir(exist_ok=True)
    con.execute(f"SET temp_directory = '{tmp}'")
    con.execute("SET preserve_insertion_order = false")
    return con


@contextmanager
def register(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[None]:
    """``frame`` visible to SQL as ``name`` for the duration of the block."""
    con.register(name, frame.to_arrow())
    try:
        yield
    finally:
        con.unregister(name)


def load_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    with register(con, "__cp_incoming", frame):
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __cp_incoming")  # noqa: S608 - internal names and constants only  # nosec B608


def linker_for(
    con: duckdb.DuckDBPyConnection, tables: list[str], settings: dict[str, Any]
) -> tuple[Linker, DuckDBAPI, list[Any]]:
    """A Splink linker over already-loaded tables (by name); returns it, its API and inputs.
    Its predictions keep the columns the vetoes read (:data:`.model.VETO_COLUMNS`)."""
    db_api = DuckDBAPI(con)
    sdfs = [db_api.register(t, table_name=f"in_{t}") for t in tables]
    linker = Linker(sdfs[0] if len(sdfs) == 1 else sdfs, with_veto_columns(settings),
                    log_level=logging.WARNING)
    return linker, db_api, sdfs


def predict_kept(linker: Linker, pairs: SplinkDataFrame, floor_weight: float) -> SplinkDataFrame:
    """Splink's own predict over registered blocked ``pairs``, scored from the linker's input
    table as it is (Splink's predict of registered pairs first copies out, per side, the
    records in some pair: here every record is in one), materialising of each
    prediction only what the vetoes and clustering read: the two ids, ``match_key``, the
    weight and probability, each comparison's level and :data:`.model.PAIR_COLUMNS` of each
    record. Splink's ``predict`` writes every column a comparison reads (addresses, carers,
    name lists), most of each row; the scores are the same SQL."""
    settings = linker._settings_obj
    pipeline = CTEPipeline([pairs])
    enqueue_df_concat_with_tf(linker, pipeline)
    pipeline.enqueue_list_of_sqls(compute_comparison_vector_values_from_id_pairs_sqls(
        settings._columns_to_select_for_blocking,
        settings._columns_to_select_for_comparison_vector_values,
        input_tablename_l="__splink__df_concat_with_tf",
        input_tablename_r="__splink__df_concat_with_tf",
        source_dataset_input_column=settings.column_info_settings.source_dataset_input_column,
        unique_id_input_column=settings.column_info_settings.unique_id_input_column,
        link_type=settings._link_type,
        sql_dialect_str="duckdb",
    ))
    pipeline.enqueue_list_of_sqls(
        predict_from_comparison_vectors_sqls_using_settings(settings, None, floor_weight))
    kept = ["unique_id_l", "unique_id_r", "match_key", "match_weight", "match_probability",
            *[f"gamma_{c.output_column_name}" for c in settings.comparisons],
            *[f"{c}_{side}" for c in PAIR_COLUMNS for side in ("l", "r")]]
    pipeline.enqueue_sql(f"SELECT {', '.join(kept)} FROM __splink__df_predict",  # noqa: S608 - Splink's own names  # nosec B608
                         "__cp_predictions")
    result: SplinkDataFrame = linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)
    return result


def fetch(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    result: pl.DataFrame = con.sql(sql).pl()
    return result
