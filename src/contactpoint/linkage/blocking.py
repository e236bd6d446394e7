"""Blocking: which pairs of records the model scores at all.

The model's prediction rules (``l.dob = r.dob AND l.sn = r.sn`` …) are join conditions. A pair
is scored when any rule joins it. Two uses:

* :func:`blocked_pairs_sql`, the pairs of a batch run: each rule's join, then one
  ``GROUP BY`` that keeps a pair once with the first rule that found it. Splink would
  instead exclude, in every rule's join, the pairs of all the rules before it (evaluating up
  to twenty conditions per candidate pair); the result is the same set of pairs, handed to
  Splink with ``register_blocked_pairs_for_predict``.
* :func:`candidate_sql`, the existing records some rule pairs with a day's new records.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp


def blocked_pairs_sql(rules: list[str], table: str) -> str:
    """SQL of the blocked pairs of a dedupe over ``table`` in the layout Splink's predict
    takes (``match_key``: the index of the first rule that pairs them, ``join_key_l`` <
    ``join_key_r``: the two ``unique_id``), exactly the pairs Splink's own blocking makes."""
    joins = " UNION ALL ".join(
        f"SELECT {i} AS k, l.unique_id AS join_key_l, r.unique_id AS join_key_r "  # noqa: S608 - the model's own rules
        f"FROM {table} l JOIN {table} r ON ({rule}) AND l.unique_id < r.unique_id"
        for i, rule in enumerate(rules)
    )
    return (
        "SELECT CAST(min(k) AS VARCHAR) AS match_key, join_key_l, join_key_r "  # noqa: S608 - internal names only
        f"FROM ({joins}) GROUP BY join_key_l, join_key_r"
    )


def _canonical(node: exp.Expr) -> str:
    """A form of a condition that ignores the order of ``AND``/``OR`` operands and of the two
    sides of ``=`` (enough to tell a symmetric blocking rule from an asymmetric one)."""
    if isinstance(node, exp.Paren):
        return _canonical(node.this)
    if isinstance(node, exp.And | exp.Or):
        parts = sorted(_canonical(p) for p in (node.this, node.expression))
        return f"{node.key}({','.join(parts)})"
    if isinstance(node, exp.EQ):
        return "eq({},{})".format(*sorted((_canonical(node.this), _canonical(node.expression))))
    return node.sql(dialect="duckdb")


def _swapped(node: exp.Expr) -> exp.Expr:
    def swap(n: exp.Expr) -> exp.Expr:
        if isinstance(n, exp.Column) and n.table in ("l", "r"):
            return exp.column(n.name, table="r" if n.table == "l" else "l")
        return n

    return node.copy().transform(swap)


def symmetric(rule: str) -> bool:
    """Does the blocking rule say the same with its two sides swapped?"""
    tree = sqlglot.parse_one(rule, dialect="duckdb")
    return _canonical(tree) == _canonical(_swapped(tree))


def candidate_sql(rules: list[str], existing: str, new: str) -> str:
    """SQL selecting the ``unique_id`` of every ``existing`` record that some blocking rule
    pairs with a ``new`` record: per rule, the rule itself as a join condition, with the
    existing record on either side (once, if the rule is symmetric)."""
    selects: list[str] = []
    for rule in rules:
        selects.append(f"SELECT l.unique_id FROM {existing} l JOIN {new} r ON {rule}")  # noqa: S608 - the model's own rules
        if not symmetric(rule):
            selects.append(f"SELECT r.unique_id FROM {new} l JOIN {existing} r ON {rule}")  # noqa: S608 - the model's own rules
    return " UNION ".join(selects)
