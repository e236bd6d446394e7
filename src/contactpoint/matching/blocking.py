"""Blocking: which pairs of records the model scores at all.

The model's prediction rules (``l.dob = r.dob AND l.sn = r.sn`` …) are join conditions. A pair
is scored when any rule joins it. Two uses:

* :func:`blocked_pairs_sql`, the pairs of a batch run: each rule's join, then one
  ``GROUP BY`` that keeps a pair once with the first rule that found it. Splink would
  instead exclude, in every rule's join, the pairs of all the rules before it (evaluating up
  to twenty conditions per candidate pair); the result is the same set of pairs, handed to
  Splink with ``register_blocked_pairs_for_predict``.
* :func:`new_pairs_sql`, the pairs a day's new records are scored in: with the existing
  records some rule joins them to, and with each other.

:func:`coded` lets a batch's joins compare 64-bit codes instead of text, and :func:`parts`
joins a batch's rule with an ``OR`` of keys or one-sided tests as several hash joins (see
there).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp


def blocked_pairs_sql(rules: list[str], table: str) -> str:
    """SQL of the blocked pairs of a dedupe over ``table``, in the layout Splink's predict
    takes: ``match_key`` (the index of the first rule that pairs them), ``join_key_l`` <
    ``join_key_r`` (the two ``unique_id``). Exactly the pairs Splink's own blocking makes."""
    return _first_rule_per_pair(_joins(enumerate(rules), table, table, ordered=True,
                                       in_parts=True))


def new_pairs_sql(rules: list[str], existing: str, new: str) -> str:
    """SQL of the pairs a day's ``new`` records are scored in, in the layout of
    :func:`blocked_pairs_sql`: every (existing, new) pair some rule joins, the existing
    record on either side of an asymmetric rule, and every pair of new records (as a dedupe
    of ``new`` would block them). Existing records are never paired with each other."""
    numbered = list(enumerate(rules))
    asymmetric = [(i, rule) for i, rule in numbered if not symmetric(rule)]
    return _first_rule_per_pair(
        _joins(numbered, existing, new, ordered=False)
        + _joins(asymmetric, new, existing, ordered=False)
        + _joins(numbered, new, new, ordered=True)
    )


def narrowed(rules: list[str], condition: str, implied_by: Iterable[str]) -> list[str]:
    """``rules``, each joined with ``AND condition``, except a rule one of whose own top-level
    conditions is among ``implied_by`` (conditions that imply ``condition``): a filter is
    evaluated on every pair the rule's join makes, so it is added only where it can narrow."""
    implying = {_canonical(sqlglot.parse_one(c, dialect="duckdb")) for c in implied_by}
    return [rule if implying & _conjuncts(rule) else f"({rule}) AND {condition}"
            for rule in rules]


@dataclass(frozen=True)
class Coded:
    """Rules rewritten to compare codes, and the SQL of the table of codes they join."""

    rules: list[str]
    table_sql: str


def coded(rules: list[str], table: str, into: str) -> Coded | None:
    """The rules over a table ``into`` of 64-bit codes of what they compare in ``table``.

    A rule's join hashes and compares its key columns and then, for every key match, gathers
    and compares the text its other conditions read (postcode district, initials, the person
    filter): most of a batch's blocking time. Over codes (``hash`` of each compared value,
    NULL kept NULL), the same joins and conditions read integers: 200 k children with 3.4
    records each block in about two thirds of the time. Every column or expression (say
    ``substr(l.dob, 1, 4)``) compared with ``=`` or tested with ``IS NULL`` is coded, once per
    table whichever side reads it, so ``l.fn = r.sn`` compares like codes.

    Only rules built of ``AND``, ``OR``, ``=``, ``IS NULL`` and ``coalesce(…, false)`` are
    coded: there, two different values sharing a code (one chance in 2^64 per pair of
    values) can only add a pair, scored on the real values like any other, never lose one.
    ``None`` when any rule holds anything else (a ``NOT``, a ``<``, a distance): the batch
    then joins the text, every rule as written."""
    expressions: dict[str, str] = {}  # the compared expression (side stripped) -> its code
    rewritten = []
    for rule in rules:
        tree = sqlglot.parse_one(rule, dialect="duckdb")
        if not _codable(tree):
            return None
        rewritten.append(tree.transform(lambda n: _code(n, expressions)).sql(dialect="duckdb"))
    codes = ", ".join(
        f"CASE WHEN ({expr}) IS NULL THEN NULL ELSE hash(CAST(({expr}) AS VARCHAR)) END AS {code}"
        for expr, code in expressions.items()
    )
    return Coded(rewritten, f"CREATE OR REPLACE TABLE {into} AS "  # noqa: S608 - the model's own rules  # nosec B608
                            f"SELECT unique_id, {codes} FROM {table}")


def _side(node: exp.Expr) -> str | None:
    """``l`` or ``r`` when every column of ``node`` is of that one side (and it has one)."""
    sides = {c.table for c in node.find_all(exp.Column)}
    return sides.pop() if len(sides) == 1 and sides <= {"l", "r"} else None


def _compared(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.EQ):
        return [node.this, node.expression]
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        return [node.this]
    return []


def _codable(node: exp.Expr) -> bool:
    if isinstance(node, exp.Paren):
        return _codable(node.this)
    if isinstance(node, exp.And | exp.Or):
        return _codable(node.this) and _codable(node.expression)
    if isinstance(node, exp.Coalesce):
        rest = node.expressions
        return (_codable(node.this) and len(rest) == 1 and isinstance(rest[0], exp.Boolean)
                and not rest[0].this)
    operands = _compared(node)
    return bool(operands) and all(_side(o) is not None for o in operands)


def _code(node: exp.Expr, expressions: dict[str, str]) -> exp.Expr:
    for operand in _compared(node):
        side = _side(operand)
        bare = operand.copy().transform(
            lambda n: exp.column(n.name) if isinstance(n, exp.Column) else n
        ).sql(dialect="duckdb")
        code = expressions.setdefault(bare, f"c{len(expressions)}")
        operand.replace(exp.column(code, table=side))
    return node


def _conjuncts(rule: str) -> set[str]:
    tree = sqlglot.parse_one(rule, dialect="duckdb")
    parts = tree.flatten() if isinstance(tree, exp.And) else [tree]
    return {_canonical(part) for part in parts}


def _joins(
    rules: Iterable[tuple[int, str]], left: str, right: str, *, ordered: bool,
    in_parts: bool = False,
) -> list[str]:
    """Per (index, rule), the pairs it joins as (``k`` = the index, the smaller ``unique_id``,
    the larger); ``ordered``: only ``l.unique_id < r.unique_id`` (a table joined to itself).
    ``in_parts``: each rule joined in :func:`parts`, for two large sides. A day's few records
    against the nation are joined whole: every part is another scan of the nation's records,
    and the few records' candidates are few anyway (a delta's matching took 8 s in parts
    against 5–6 s whole at 1 M)."""
    also = " AND l.unique_id < r.unique_id" if ordered else ""
    return [
        f"SELECT {i} AS k, least(l.unique_id, r.unique_id) AS a, "  # noqa: S608 - the model's own rules  # nosec B608
        f"greatest(l.unique_id, r.unique_id) AS b FROM {left} l JOIN {right} r ON ({part}){also}"
        for i, rule in rules for part in (parts(rule) if in_parts else (rule,))
    ]


MAX_PARTS = 16


@functools.cache
def parts(rule: str) -> tuple[str, ...]:
    """``rule`` as joins whose union is its pairs, each pair in exactly one of them.

    A hash join keys on a rule's top-level equalities and filters every candidate they match
    by the rest. ``l.addr_num = r.addr_num AND l.addr_street = r.addr_street AND (l.pc IS NULL
    OR r.pc IS NULL OR l.pc_district = r.pc_district)`` therefore matches "12 High Street" in
    every town before keeping the ones in one district: at 1 M children, most of a batch's
    blocking time. Each top-level ``OR`` whose every alternative is an equality of the two
    sides (a key) or a condition on one side (a filter below the join) is made one join per
    alternative instead, the alternative ANDed to the rest of the rule and the alternatives
    before it excluded: here one join keyed on the district too, and two over the few records
    without a postcode. At most :data:`MAX_PARTS` joins per rule; any other OR stays a filter.
    """
    alternatives: list[list[exp.Expr]] = [[]]
    for conjunct in _conjuncts_of(sqlglot.parse_one(rule, dialect="duckdb")):
        options = _alternatives(conjunct)
        if options is None or len(alternatives) * len(options) > MAX_PARTS:
            alternatives = [[*chosen, conjunct] for chosen in alternatives]
            continue
        alternatives = [
            [*chosen, option, *(exp.Not(this=exp.Coalesce(this=before.copy(),
                                                         expressions=[exp.false()]))
                               for before in options[:n])]
            for chosen in alternatives for n, option in enumerate(options)
        ]
    if len(alternatives) == 1:
        return (rule,)
    return tuple(" AND ".join(exp.paren(c.copy()).sql(dialect="duckdb") for c in conjuncts)
                 for conjuncts in alternatives)


def _conjuncts_of(node: exp.Expr) -> list[exp.Expr]:
    """The top-level ``AND`` operands of ``node``, through parentheses."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _conjuncts_of(node.this) + _conjuncts_of(node.expression)
    return [node]


def _alternatives(node: exp.Expr) -> list[exp.Expr] | None:
    """The operands of a top-level ``OR`` that a join can key on or push below it, if all are."""
    while isinstance(node, exp.Paren):
        node = node.this
    if not isinstance(node, exp.Or):
        return None
    options = list(node.flatten())
    keyed = all(
        (isinstance(o, exp.EQ) and {_side(o.this), _side(o.expression)} == {"l", "r"})
        or _side(o) is not None
        for o in options
    )
    return options if keyed else None


def _first_rule_per_pair(joins: list[str]) -> str:
    return (
        "SELECT CAST(min(k) AS VARCHAR) AS match_key, a AS join_key_l, b AS join_key_r "  # noqa: S608 - internal names only  # nosec B608
        f"FROM ({' UNION ALL '.join(joins)}) GROUP BY a, b"
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


@functools.cache
def symmetric(rule: str) -> bool:
    """Does the blocking rule say the same with its two sides swapped?"""
    tree = sqlglot.parse_one(rule, dialect="duckdb")
    return _canonical(tree) == _canonical(_swapped(tree))
