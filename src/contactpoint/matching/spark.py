"""The same model on Spark (Splink's Spark backend): the artefact's SQL, translated.

Every SQL fragment in a model artefact (comparison levels, blocking rules) and in
:func:`contactpoint.matching.scoring.veto_select` is written in DuckDB's dialect. ``to_spark``
translates one with sqlglot and maps the few functions Spark spells differently: list overlap
(``list_has_any`` → ``arrays_overlap``) and Jaro-Winkler (Splink's Spark UDF
``jaro_winkler``, from the similarity jar Splink ships). ``spark_settings`` applies it to a
whole model; ``tests/matching/test_spark.py`` checks, on a local Spark, that it scores exactly
the pairs DuckDB scores with the same probabilities. See docs/linkage.md.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from contactpoint.matching.artefact import ModelArtefact
from contactpoint.matching.model import prediction_rules, with_veto_columns


def _rename(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.ArrayOverlaps):
        return exp.Anonymous(this="arrays_overlap", expressions=[node.this, node.expression])
    if isinstance(node, exp.JarowinklerSimilarity):
        return exp.Anonymous(this="jaro_winkler", expressions=[node.this, node.expression])
    return node


def to_spark(sql: str) -> str:
    """A DuckDB SQL expression or query in Spark SQL."""
    tree = sqlglot.parse_one(sql, read="duckdb").transform(_rename)
    return tree.sql(dialect="spark")


def spark_settings(model: ModelArtefact) -> dict[str, Any]:
    """The model's Splink settings with every SQL fragment in Spark SQL."""
    settings = copy.deepcopy(with_veto_columns(model.splink_settings))
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("sql_condition", "ELSE") != "ELSE":
                level["sql_condition"] = to_spark(level["sql_condition"])
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": to_spark(rule), "sql_dialect": "spark"}
        for rule in prediction_rules(settings)
    ]
    return settings


def similarity_jar() -> Path:
    """Splink's Spark similarity UDF jar (``jaro_winkler`` and friends) for Spark 3."""
    import splink

    jars = Path(splink.__file__).parent / "internals" / "files" / "spark_jars"
    return sorted(jars.glob("scala-udf-similarity-*_spark3.x.jar"))[-1]
