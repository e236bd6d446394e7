"""A comparison level's ``sql_condition`` compiled to a Python function (for search).

The model artefact writes each comparison level as DuckDB SQL over ``<col>_l`` / ``<col>_r``.
Linkage evaluates it in DuckDB (Splink). A practitioner's search scores a few hundred
candidates at most, and there DuckDB's per-statement cost (planning, Arrow registration: 7-10
ms) outweighs the work; so the same condition text is parsed here into a Python function of
the two rows. The subset is what :mod:`.model` writes: ``AND`` / ``OR`` / ``NOT``, comparisons,
``IS [NOT] NULL``, ``+`` / ``-``, ``CAST(... AS INTEGER)``, string and number literals, and the
functions in :data:`FUNCTIONS`. SQL's three-valued logic is kept (``None`` is NULL). Anything
else raises :class:`Unsupported`; a test evaluates every level of the shipped model's both
address treatments against DuckDB on real search keys (``tests/matching/test_sqlcond.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jellyfish

Row = Mapping[str, Any]
Expr = Callable[[Row, Row], Any]


class Unsupported(ValueError):
    """The condition uses SQL outside the compiled subset."""


def _null_safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if any(a is None for a in args):
            return None
        return fn(*args)
    return call


def _substr(s: str, start: int, length: int) -> str:
    begin = max(start - 1, 0)
    return s[begin:begin + length]


def _list_contains(values: Sequence[Any], item: Any) -> bool:
    return item in values


def _list_has_any(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return not set(a).isdisjoint(x for x in b if x is not None)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "substr": _null_safe(_substr),
    "levenshtein": _null_safe(jellyfish.levenshtein_distance),
    "damerau_levenshtein": _null_safe(jellyfish.damerau_levenshtein_distance),
    "jaro_winkler_similarity": _null_safe(jellyfish.jaro_winkler_similarity),
    "list_contains": _null_safe(_list_contains),
    "list_has_any": _null_safe(_list_has_any),
}

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<op><=|>=|<>|!=|=|<|>|\+|-|\(|\)|,)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*))")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b), "<>": lambda a, b: bool(a != b),
    "!=": lambda a, b: bool(a != b), "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b), ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _tokens(sql: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    sql = sql.rstrip()
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if m is None or m.end() == pos:
            raise Unsupported(f"cannot read {sql[pos:pos + 20]!r}")
        kind = m.lastgroup
        assert kind is not None
        value = m.group(kind)
        out.append((kind, value.upper() if kind == "word" and value.upper() in _KEYWORDS
                    else value))
        pos = m.end()
    return out


_KEYWORDS = frozenset({"AND", "OR", "NOT", "IS", "NULL", "CAST", "AS", "TRUE", "FALSE"})


def _and(parts: list[Expr]) -> Expr:
    def run(left: Row, right: Row) -> Any:
        unknown = False
        for p in parts:
            v = p(left, right)
            if v is None:
                unknown = True
            elif not v:
                return False
        return None if unknown else True
    return run


def _or(parts: list[Expr]) -> Expr:
    def run(left: Row, right: Row) -> Any:
        unknown = False
        for p in parts:
            v = p(left, right)
            if v is None:
                unknown = True
            elif v:
                return True
        return None if unknown else False
    return run


class _Parser:
    def __init__(self, sql: str) -> None:
        self.toks = _tokens(sql)
        self.i = 0
        self.columns: set[str] = set()

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise Unsupported(f"expected {value or 'more'}, found {tok}")
        self.i += 1
        return tok

    def at(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1] == value and tok[0] in ("word", "op")

    def parse(self) -> Expr:
        expr = self.disjunction()
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek()}")
        return expr

    def disjunction(self) -> Expr:
        parts = [self.conjunction()]
        while self.at("OR"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else _or(parts)

    def conjunction(self) -> Expr:
        parts = [self.negation()]
        while self.at("AND"):
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else _and(parts)

    def negation(self) -> Expr:
        if self.at("NOT"):
            self.take()
            inner = self.negation()
            return lambda a, b: None if (v := inner(a, b)) is None else not v
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.additive()
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in _COMPARE:
            self.take()
            right = self.additive()
            op = _COMPARE[tok[1]]

            def compare(a: Row, b: Row) -> Any:
                x, y = left(a, b), right(a, b)
                return None if x is None or y is None else op(x, y)
            return compare
        if self.at("IS"):
            self.take()
            negate = self.at("NOT")
            if negate:
                self.take()
            self.take("NULL")
            if negate:
                return lambda a, b: left(a, b) is not None
            return lambda a, b: left(a, b) is None
        return left

    def additive(self) -> Expr:
        expr = self.primary()
        while self.at("+") or self.at("-"):
            sign = self.take()[1]
            right = self.primary()
            expr = self._arith(expr, right, sign)
        return expr

    @staticmethod
    def _arith(left: Expr, right: Expr, sign: str) -> Expr:
        def run(a: Row, b: Row) -> Any:
            x, y = left(a, b), right(a, b)
            if x is None or y is None:
                return None
            return x + y if sign == "+" else x - y
        return run

    def primary(self) -> Expr:
        kind, value = self.take()
        if kind == "num":
            number: float = float(value) if "." in value else int(value)
            return lambda a, b: number
        if kind == "str":
            literal = value[1:-1].replace("''", "'")
            return lambda a, b: literal
        if value == "(":
            inner = self.disjunction()
            self.take(")")
            return inner
        if kind != "word":
            raise Unsupported(f"unexpected {value!r}")
        if value in ("TRUE", "FALSE", "NULL"):
            constant = {"TRUE": True, "FALSE": False, "NULL": None}[value]
            return lambda a, b: constant
        if value == "CAST":
            return self.cast()
        if self.at("("):
            return self.call(value.lower())
        return self.column(value)

    def cast(self) -> Expr:
        self.take("(")
        inner = self.disjunction()
        self.take("AS")
        typ = self.take()[1].upper()
        self.take(")")
        if typ not in ("INTEGER", "INT", "BIGINT"):
            raise Unsupported(f"CAST AS {typ}")
        return lambda a, b: None if (v := inner(a, b)) is None else int(v)

    def call(self, name: str) -> Expr:
        fn = FUNCTIONS.get(name)
        if fn is None:
            raise Unsupported(f"function {name}")
        self.take("(")
        args: list[Expr] = []
        if not self.at(")"):
            args.append(self.disjunction())
            while self.at(","):
                self.take()
                args.append(self.disjunction())
        self.take(")")
        if len(args) == 2:
            x, y = args
            return lambda a, b: fn(x(a, b), y(a, b))
        return lambda a, b: fn(*(arg(a, b) for arg in args))

    def column(self, name: str) -> Expr:
        base, _, side = name.rpartition("_")
        if side not in ("l", "r") or not base:
            raise Unsupported(f"column {name}")
        self.columns.add(base)
        if side == "l":
            return lambda a, b: a.get(base)
        return lambda a, b: b.get(base)


def compile_condition(sql: str) -> tuple[Expr, frozenset[str]]:
    """``sql`` -> (function of the ``_l`` row and the ``_r`` row returning True / False /
    None, the column names it reads without their side suffix)."""
    parser = _Parser(sql)
    expr = parser.parse()
    return expr, frozenset(parser.columns)


__all__ = ["FUNCTIONS", "Unsupported", "compile_condition"]
