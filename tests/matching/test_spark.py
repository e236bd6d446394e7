"""The same model on a local Spark (Splink's Spark backend): the same pairs, the same
probabilities and the same vetoes as on DuckDB. Needs pyspark (a dev dependency) and a Java
runtime (on every machine of this kind)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.frame import conform
from contactpoint.matching.normalise import prepare
from contactpoint.matching.scoring import veto_select
from contactpoint.matching.splinkdb import connect, fetch, linker_for, load_table

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("no Java runtime for Spark", allow_module_level=True)

RECORDS = 2500  # records of the fixed synthetic population: a few thousand pairs


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from pyspark.sql import SparkSession

    from contactpoint.matching.spark import similarity_jar

    session = (
        SparkSession.builder.master("local[2]").appName("contactpoint-test")
        .config("spark.jars", str(similarity_jar()))
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(str(tmp_path_factory.mktemp("spark-checkpoints")))
    yield session
    session.stop()


def _vetoed(sql: str) -> str:
    return f"SELECT l, r, v_nhs OR v_upn OR v_twin OR v_person AS vetoed FROM ({sql}) v"


def test_spark_scores_exactly_what_duckdb_scores(
    spark: Any, default_model: ModelArtefact,
    synth_population: tuple[pl.DataFrame, pl.DataFrame, list[tuple[str, str]]],
) -> None:
    from splink import Linker, SparkAPI

    from contactpoint.matching.spark import spark_settings, to_spark

    records = synth_population[0].sort("record_key").head(RECORDS)
    lf = prepare(conform(records))
    floor = default_model.rules.score_floor_weight
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp))
        load_table(con, "lf", lf)
        linker, _, _ = linker_for(con, ["lf"], default_model.splink_settings)
        pred = linker.inference.predict(threshold_match_weight=floor, warning_mode="never")
        duck = fetch(con, _vetoed(veto_select(pred.physical_name)) + " ORDER BY l, r")
        duck_p = fetch(con, f"SELECT unique_id_l AS l, unique_id_r AS r, match_probability AS p "
                            f"FROM {pred.physical_name}")
        con.close()
        parquet = Path(tmp) / "lf.parquet"
        lf.write_parquet(parquet)
        api = SparkAPI(spark_session=spark)
        spark_linker = Linker(api.register(spark.read.parquet(str(parquet))),
                              spark_settings(default_model))
        spark_pred = spark_linker.inference.predict(threshold_match_weight=floor)
        sp = pl.from_pandas(spark.sql(to_spark(_vetoed(veto_select(spark_pred.physical_name))))
                            .toPandas()).sort("l", "r")
        sp_p = pl.from_pandas(spark_pred.as_pandas_dataframe()[
            ["unique_id_l", "unique_id_r", "match_probability"]
        ]).rename({"unique_id_l": "l", "unique_id_r": "r", "match_probability": "p"})
    assert duck.height > 1000
    assert sp.select("l", "r").equals(duck.select("l", "r"))  # the same pairs
    assert sp["vetoed"].to_list() == duck["vetoed"].to_list()  # the same vetoes
    both = duck_p.join(sp_p, on=["l", "r"], suffix="_spark")
    assert both.height == duck_p.height
    assert (both["p"] - both["p_spark"]).abs().max() < 1e-9  # the same probabilities
