"""The model specification: comparisons, blocking rules and training rules (Splink 5 settings).

Comparisons (each a Splink comparison over the linkage frame of :mod:`.normalise`):

* ``forename``: exact with middle names / exact (both term-frequency adjusted) / same
  nickname-or-variant group, or one
  record's given name is among the other's given/preferred/middle names / typo (Damerau-
  Levenshtein 1 or Jaro-Winkler >= 0.92) / phonetic (metaphone) or Jaro-Winkler >= 0.85 / else.
* ``surname``: exact (tf) / a shared part or former surname / typo / phonetic / else.
* ``dob``: exact / day-month swap / one field (or one character) off / same year / else.
* ``sex``: agree / disagree (``U`` is null).
* ``household``: *one* comparison for postcode, house number, street, town and carers' names,
  so a shared home is counted once, not three or four times: same home and a carer shared /
  same home / same address partly / a carer shared elsewhere / same postcode or street /
  same sector / same district or town / else.
  Used when training finds household structure; otherwise ``_independent_address`` scores
  postcode, house number, street, town and carers separately (each person's own address).
* ``nhs`` and ``upn``: agree / disagree (disagreement is also a veto, applied after scoring).
"""

from __future__ import annotations

from typing import Any

DIALECT = "duckdb"

# Columns the vetoes read besides the comparisons' own; every prediction keeps them.
VETO_COLUMNS: tuple[str, ...] = ("source_code", "fn_mid_ini", "fn_mid_abbr")
# What the vetoes read of each record of a scored pair (``scoring.veto_select`` and the name
# tests of ``twins``); a batch's predictions keep only these (``splinkdb.predict_kept``).
PAIR_COLUMNS: tuple[str, ...] = ("fn", "fn_mid", "sex", "nhs", "upn", *VETO_COLUMNS)


def with_veto_columns(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with :data:`VETO_COLUMNS` retained in the predictions (an engine need, not
    a model parameter: the artefact is not changed)."""
    kept = list(settings.get("additional_columns_to_retain") or [])
    return {**settings,
            "additional_columns_to_retain": kept + [c for c in VETO_COLUMNS if c not in kept]}


def gamma(settings: dict[str, Any], comparison: str, label: str) -> int:
    """The gamma value Splink gives the level of ``comparison`` labelled ``label``: the
    non-null levels count down to 0 (the last, "else"). Vetoes name levels by their label, so
    a model whose comparisons gain or lose a level keeps its vetoes right."""
    for comp in settings["comparisons"]:
        if comp["output_column_name"] != comparison:
            continue
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        labels = [lv.get("label_for_charts") for lv in levels]
        if label not in labels:
            raise KeyError(f"comparison {comparison!r} has no level labelled {label!r}")
        return len(levels) - 1 - labels.index(label)
    raise KeyError(f"no comparison {comparison!r}")


def has_comparison(settings: dict[str, Any], comparison: str) -> bool:
    """Whether the model compares ``comparison`` (the household is one comparison only in
    populations that live in households)."""
    return any(c["output_column_name"] == comparison for c in settings["comparisons"])


def _null(cond: str, label: str = "null") -> dict[str, Any]:
    return {"sql_condition": cond, "label_for_charts": label, "is_null_level": True}


def _level(
    cond: str, label: str, m: float, u: float, tf: str | None = None
) -> dict[str, Any]:
    level: dict[str, Any] = {
        "sql_condition": cond,
        "label_for_charts": label,
        "m_probability": m,
        "u_probability": u,
    }
    if tf:
        level["tf_adjustment_column"] = tf
        level["tf_adjustment_weight"] = 1.0
    return level


def _else(m: float, u: float) -> dict[str, Any]:
    return {"sql_condition": "ELSE", "label_for_charts": "else", "m_probability": m,
            "u_probability": u}


def _typo(col: str) -> str:
    return (
        f"(damerau_levenshtein({col}_l, {col}_r) <= 1 "
        f"OR jaro_winkler_similarity({col}_l, {col}_r) >= 0.92 OR {col}_ocr_l = {col}_ocr_r)"
    )


def forename() -> dict[str, Any]:
    return {
        "output_column_name": "forename",
        "comparison_description": "forenames incl. preferred, middle, nicknames, variants",
        "comparison_levels": [
            _null("fn_l IS NULL OR fn_r IS NULL"),
            _level(
                "fn_l = fn_r AND fn_mid_l = fn_mid_r", "exact, middle names too", 0.3, 0.0002,
                tf="fn",
            ),
            _level("fn_l = fn_r", "exact", 0.6, 0.002, tf="fn"),
            _level(
                "fn_canon_l = fn_canon_r OR list_contains(fn_names_r, fn_canon_l) "
                "OR list_contains(fn_names_l, fn_canon_r)",
                "nickname, variant or another forename",
                0.08,
                0.001,
            ),
            _level(_typo("fn"), "typo", 0.04, 0.003),
            _level(
                "fn_mp_l = fn_mp_r OR jaro_winkler_similarity(fn_l, fn_r) >= 0.85",
                "phonetic or similar",
                0.01,
                0.01,
            ),
            _level(
                "fn_l = sn_r OR sn_l = fn_r", "forename and surname swapped", 0.01, 0.0001
            ),
            _else(0.02, 0.984),
        ],
    }


def surname() -> dict[str, Any]:
    return {
        "output_column_name": "surname",
        "comparison_description": "family name incl. hyphenated parts and former surname",
        "comparison_levels": [
            _null("sn_l IS NULL OR sn_r IS NULL"),
            _level("sn_l = sn_r", "exact", 0.85, 0.001, tf="sn"),
            _level("list_has_any(sn_names_l, sn_names_r)", "shared part or former", 0.06,
                   0.0005),
            _level(_typo("sn"), "typo", 0.04, 0.002),
            _level(
                "sn_mp_l = sn_mp_r OR jaro_winkler_similarity(sn_l, sn_r) >= 0.85",
                "phonetic or similar",
                0.01,
                0.01,
            ),
            _level(
                "fn_l = sn_r OR sn_l = fn_r", "forename and surname swapped", 0.01, 0.0001
            ),
            _else(0.04, 0.986),
        ],
    }


def _dob_fields_equal() -> str:
    parts = [(1, 4), (6, 2), (9, 2)]
    terms = [
        f"CAST(substr(dob_l, {s}, {n}) = substr(dob_r, {s}, {n}) AS INTEGER)" for s, n in parts
    ]
    return " + ".join(terms)


def date_of_birth() -> dict[str, Any]:
    return {
        "output_column_name": "dob",
        "comparison_description": "date of birth: exact, day/month swap, one field off",
        "comparison_levels": [
            _null("dob_l IS NULL OR dob_r IS NULL"),
            _level("dob_l = dob_r", "exact", 0.93, 0.0003),
            _level(
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) "
                "AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
                "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                "day/month swapped",
                0.01,
                0.00002,
            ),
            _level(
                f"({_dob_fields_equal()}) = 2 OR levenshtein(dob_l, dob_r) <= 1",
                "one field or one character off",
                0.04,
                0.005,
            ),
            _level("substr(dob_l, 1, 4) = substr(dob_r, 1, 4)", "same year", 0.01, 0.05),
            _else(0.01, 0.945),
        ],
    }


def sex() -> dict[str, Any]:
    return {
        "output_column_name": "sex",
        "comparison_levels": [
            _null("sex_l IS NULL OR sex_r IS NULL"),
            _level("sex_l = sex_r", "agree", 0.98, 0.5),
            _else(0.02, 0.5),
        ],
    }


def household() -> dict[str, Any]:
    street = "jaro_winkler_similarity(addr_street_l, addr_street_r) >= 0.9"
    number = "addr_num_l = addr_num_r"
    postcode = "pc_l = pc_r"
    place = "(town_l = town_r OR addr3_l = addr3_r)"
    full = f"{street} AND {number} AND ({postcode} OR {place})"
    carer = "list_has_any(carers_l, carers_r)"
    return {
        "output_column_name": "household",
        "comparison_description": (
            "home (postcode, number, street, town) and carers' names as ONE household fact"
        ),
        "comparison_levels": [
            _null(
                "(pc_l IS NULL OR pc_r IS NULL) "
                "AND (addr_street_l IS NULL OR addr_street_r IS NULL) "
                "AND (town_l IS NULL OR town_r IS NULL) "
                "AND (carers_l IS NULL OR carers_r IS NULL)"
            ),
            _level(f"{full} AND {carer}", "same home and a carer shared", 0.6, 1e-6),
            _level(full, "same home", 0.2, 1e-6),
            _level(
                f"({postcode} AND ({street} OR {number})) OR ({street} AND {number})",
                "same address, partly",
                0.05,
                2e-5,
            ),
            _level(carer, "a carer shared, home differs", 0.05, 1e-5),
            _level(
                f"{postcode} OR ({place} AND ({street} OR {number}))",
                "same postcode, or street in the same place",
                0.03,
                0.0005,
            ),
            _level("pc_sector_l = pc_sector_r", "same postcode sector", 0.02, 0.002),
            _level(
                f"pc_district_l = pc_district_r OR {place}",
                "same district, town or locality",
                0.02,
                0.02,
            ),
            _else(0.03, 0.977),
        ],
    }


def _independent_address() -> list[dict[str, Any]]:
    """Address fields as separate comparisons: for populations without household structure.

    When training finds no distinct people sharing a home within a source
    (``fit.measure``), every person has an address of their own, so postcode,
    house number, street, town and carers are independent evidence about the *person* (the
    default Fellegi-Sunter set-up, right for FEBRL, wrong for siblings).
    """
    pc_null = "(pc_l IS NULL OR pc_r IS NULL) AND (addr3_l IS NULL OR addr3_r IS NULL)"
    return [
        {
            "output_column_name": "postcode",
            "comparison_description": "postcode (or a postcode-like address line 3)",
            "comparison_levels": [
                _null(pc_null),
                _level("pc_l = pc_r OR addr3_l = addr3_r", "exact", 0.9, 0.001),
                _level(
                    "pc_sector_l = pc_sector_r OR levenshtein(addr3_l, addr3_r) <= 1",
                    "same sector or one character off", 0.05, 0.01,
                ),
                _level("pc_district_l = pc_district_r", "same district", 0.02, 0.05),
                _else(0.03, 0.939),
            ],
        },
        {
            "output_column_name": "house_number",
            "comparison_levels": [
                _null("addr_num_l IS NULL OR addr_num_r IS NULL"),
                _level("addr_num_l = addr_num_r", "exact", 0.9, 0.02),
                _else(0.1, 0.98),
            ],
        },
        {
            "output_column_name": "street",
            "comparison_levels": [
                _null("addr_street_l IS NULL OR addr_street_r IS NULL"),
                _level("addr_street_l = addr_street_r", "exact", 0.8, 0.001),
                _level("jaro_winkler_similarity(addr_street_l, addr_street_r) >= 0.9",
                       "Jaro-Winkler >= 0.9", 0.1, 0.002),
                _level("jaro_winkler_similarity(addr_street_l, addr_street_r) >= 0.8",
                       "Jaro-Winkler >= 0.8", 0.05, 0.02),
                _else(0.05, 0.977),
            ],
        },
        {
            "output_column_name": "town",
            "comparison_levels": [
                _null("town_l IS NULL OR town_r IS NULL"),
                _level("town_l = town_r", "exact", 0.85, 0.005),
                _level(_typo_plain("town"), "typo", 0.1, 0.005),
                _else(0.05, 0.99),
            ],
        },
        {
            "output_column_name": "carers",
            "comparison_levels": [
                _null("carers_l IS NULL OR carers_r IS NULL"),
                _level("list_has_any(carers_l, carers_r)", "a carer shared", 0.8, 0.001),
                _else(0.2, 0.999),
            ],
        },
    ]


def _typo_plain(col: str) -> str:
    return (
        f"(damerau_levenshtein({col}_l, {col}_r) <= 1 "
        f"OR jaro_winkler_similarity({col}_l, {col}_r) >= 0.92)"
    )


def _identifier(name: str, col: str) -> dict[str, Any]:
    return {
        "output_column_name": name,
        "comparison_levels": [
            _null(f"{col}_l IS NULL OR {col}_r IS NULL"),
            _level(f"{col}_l = {col}_r", "agree", 0.995, 1e-7),
            _else(0.005, 0.9999999),
        ],
    }


# Blocking rules for prediction. Each bounds its blocks (no rule on a name alone) and together
# they survive an error in any one field, and in most pairs of fields. Address-based rules only
# compare records in the same postcode district (or without a postcode): "12 High Street" in
# another district is another home, and without that anchor those blocks grow quadratically.
_NEAR = "(l.pc IS NULL OR r.pc IS NULL OR l.pc_district = r.pc_district)"

PREDICTION_BLOCKING_RULES: tuple[str, ...] = (
    "l.nhs = r.nhs",
    "l.upn = r.upn",
    "l.dob = r.dob AND l.sn = r.sn",
    "l.dob = r.dob AND l.fn_canon = r.fn_canon",
    "l.dob = r.dob AND l.pc = r.pc",
    "l.fn_canon = r.fn_canon AND l.sn = r.sn AND l.pc_district = r.pc_district",
    "l.fn_canon = r.fn_canon AND l.sn = r.sn AND substr(l.dob, 6, 5) = substr(r.dob, 6, 5)",
    "l.pc = r.pc AND l.fn_mp = r.fn_mp",
    "l.fn_mp = r.fn_mp AND l.sn_mp = r.sn_mp AND substr(l.dob, 1, 7) = substr(r.dob, 1, 7)",
    "l.dob = r.dob AND l.fn = r.sn",
    "l.dob = r.dob AND l.sn = r.fn",  # pairs are generated with l < r: both directions
    "l.fn = r.sn AND l.sn = r.fn",
    # names agree, date of birth missing or far off: filtered, so common names stay cheap
    "l.fn_canon = r.fn_canon AND l.sn = r.sn "
    "AND (l.dob IS NULL OR r.dob IS NULL OR l.town = r.town OR l.addr3 = r.addr3)",
    "l.dob = r.dob AND l.addr_num = r.addr_num AND " + _NEAR,
    "l.dob = r.dob AND l.town = r.town AND (l.pc IS NULL OR r.pc IS NULL)",
    # the home agrees and one name roughly does (names and date of birth garbled)
    "l.addr_num = r.addr_num AND l.addr_street = r.addr_street AND " + _NEAR + " "
    "AND (substr(l.fn, 1, 1) = substr(r.fn, 1, 1) OR substr(l.sn, 1, 1) = substr(r.sn, 1, 1))",
    "l.sn = r.sn AND l.addr_num = r.addr_num AND " + _NEAR + " "
    "AND substr(l.addr_street, 1, 4) = substr(r.addr_street, 1, 4)",
    "l.fn_canon = r.fn_canon AND l.addr_num = r.addr_num AND " + _NEAR + " "
    "AND substr(l.addr_street, 1, 4) = substr(r.addr_street, 1, 4)",
    "l.addr_num = r.addr_num AND l.addr3 = r.addr3",
    "l.addr3 = r.addr3 AND substr(l.addr_street, 1, 6) = substr(r.addr_street, 1, 6)",
    "l.sn_mp = r.sn_mp AND substr(l.addr_street, 1, 6) = substr(r.addr_street, 1, 6) "
    "AND " + _NEAR + " "
    "AND (l.dob IS NULL OR r.dob IS NULL OR substr(l.dob, 1, 4) = substr(r.dob, 1, 4) "
    "OR l.addr_num = r.addr_num)",
)

# Populations without household structure: an address is a person's own, so the home (with
# one name roughly agreeing) is a fair block too. Each rule is still anchored on a place.
INDEPENDENT_ADDRESS_BLOCKING_RULES: tuple[str, ...] = (
    "l.dob = r.dob AND l.addr3 = r.addr3",
    "l.fn_canon = r.fn_canon AND l.sn = r.sn AND l.addr_num = r.addr_num",
    "l.addr_num = r.addr_num AND l.addr_street = r.addr_street AND l.town = r.town",
    "l.sn = r.sn AND l.town = r.town AND (l.fn IS NULL OR r.fn IS NULL OR l.dob IS NULL "
    "OR r.dob IS NULL OR l.addr_num = r.addr_num OR substr(l.fn, 1, 1) = substr(r.fn, 1, 1))",
    "l.fn = r.fn AND l.town = r.town AND (l.sn IS NULL OR r.sn IS NULL "
    "OR substr(l.sn, 1, 1) = substr(r.sn, 1, 1))",
)

# Deterministic rules used to estimate the prior (probability two random records match).
DETERMINISTIC_RULES: tuple[str, ...] = (
    "l.nhs = r.nhs",
    "l.upn = r.upn",
    "l.fn = r.fn AND l.sn = r.sn AND l.dob = r.dob",
)

# EM sessions: each blocks on some fields and so trains the others.
EM_BLOCKING_RULES: tuple[str, ...] = (
    "l.dob = r.dob AND l.sn_mp = r.sn_mp",
    "l.fn_canon = r.fn_canon AND l.sn = r.sn",
    "l.pc = r.pc AND l.dob = r.dob",
)


def base_settings(household_structure: bool = True) -> dict[str, Any]:
    """Splink settings before training. ``household_structure`` (decided by training from the
    data) scores the home as ONE household comparison; without it, address fields are
    separate comparisons (:func:`_independent_address`)."""
    address = [household()] if household_structure else _independent_address()
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": 1e-6,
        "em_convergence": 0.0001,
        "max_iterations": 25,
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": False,
        "additional_columns_to_retain": ["source_code"],
        "comparisons": [
            forename(),
            surname(),
            date_of_birth(),
            sex(),
            *address,
            _identifier("nhs", "nhs"),
            _identifier("upn", "upn"),
        ],
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": br, "sql_dialect": DIALECT}
            for br in PREDICTION_BLOCKING_RULES
            + (() if household_structure else INDEPENDENT_ADDRESS_BLOCKING_RULES)
        ],
    }


def prediction_rules(settings: dict[str, Any]) -> list[str]:
    """The SQL of a settings dictionary's prediction blocking rules, in order."""
    return [r["blocking_rule"] if isinstance(r, dict) else str(r)
            for r in settings["blocking_rules_to_generate_predictions"]]
