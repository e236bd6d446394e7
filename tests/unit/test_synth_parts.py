"""The synthetic generator's parts: identifiers, noise, pools, world."""

from __future__ import annotations

import numpy as np

from contactpoint.domain.identifiers import (
    is_valid_nhs_number,
    is_valid_postcode,
    is_valid_upn,
    normalise_postcode,
)
from contactpoint.synth.ids import nhs_numbers, source_keys, upns
from contactpoint.synth.noise import apply_dob_noise, apply_hyphen_part, apply_typos, typo
from contactpoint.synth.pools import name_pools
from contactpoint.synth.world import build_world


def test_nhs_numbers_are_valid_and_distinct() -> None:
    numbers = nhs_numbers(np.arange(200_000, dtype=np.int64), seed=4)
    assert len(set(numbers.tolist())) == numbers.size
    assert all(is_valid_nhs_number(n) for n in numbers[:20_000].tolist())
    assert all(n[0] in "456789" for n in numbers[:1000].tolist())


def test_nhs_numbers_do_not_depend_on_the_chunk() -> None:
    whole = nhs_numbers(np.arange(1000, dtype=np.int64), seed=9)
    part = nhs_numbers(np.arange(500, 1000, dtype=np.int64), seed=9)
    assert whole[500:].tolist() == part.tolist()


def test_upns_carry_a_valid_check_letter() -> None:
    n = 5000
    rng = np.random.default_rng(0)
    values = upns(rng.integers(200, 999, n), rng.integers(1000, 7999, n),
                  rng.integers(0, 99, n), rng.integers(0, 999, n))
    assert all(is_valid_upn(v) for v in values.tolist())


def test_source_keys_are_distinct_per_person() -> None:
    keys = source_keys("PDS-", np.arange(100_000, dtype=np.int64), salt=11)
    assert len(set(keys.tolist())) == keys.size
    assert keys[0].startswith("PDS-")
    assert len(keys[0]) == len("PDS-") + 9


def test_typo_is_one_small_edit() -> None:
    rng = np.random.default_rng(1)
    changed = 0
    for _ in range(500):
        word = typo("Isabella", rng)
        assert abs(len(word) - len("Isabella")) <= 1
        assert word[0] == "I"
        changed += word != "Isabella"
    assert changed > 400


def test_typo_rate_is_respected() -> None:
    rng = np.random.default_rng(2)
    names = np.full(20_000, "Margaret")
    out = apply_typos(names, 0.05, rng)
    rate = float((out != names).mean())
    assert 0.03 < rate < 0.06


def test_hyphenated_surnames_lose_a_part() -> None:
    rng = np.random.default_rng(3)
    out = apply_hyphen_part(np.full(300, "Smith-Jones"), 1.0, rng)
    assert set(out.tolist()) <= {"Smith", "Jones", "Smith Jones"}
    assert len(set(out.tolist())) == 3


def test_dob_noise_swaps_day_and_month() -> None:
    rng = np.random.default_rng(4)
    dob = np.array(["2015-03-07"] * 50, dtype="datetime64[D]")
    out = apply_dob_noise(dob, 1.0, 0.0, 0.0, rng)
    assert set(np.datetime_as_string(out).tolist()) == {"2015-07-03"}
    shifted = apply_dob_noise(dob, 0.0, 0.0, 1.0, rng)
    years = {s[:4] for s in np.datetime_as_string(shifted).tolist()}
    assert years <= {"2014", "2016"}


def test_name_pools_are_skewed_but_long_tailed() -> None:
    pools = name_pools()
    english = pools.surname[0]
    weights = np.diff(np.r_[0.0, english.cdf])
    assert weights[0] > 5 * weights[len(weights) // 2]
    assert english.names.size > 500
    assert "Muhammad" in pools.variants["Mohammed"]
    assert "Alex" in pools.nicknames["Alexander"]


def test_world_postcodes_and_schools() -> None:
    world = build_world(50_000, seed=1)
    assert all(is_valid_postcode(p) for p in world.unit_postcode.tolist())
    assert all(normalise_postcode(p) == p for p in world.unit_postcode[:200].tolist())
    assert len(set(world.school_urn.tolist())) == world.school_urn.size
    assert all(100_000 <= u < 1_000_000 for u in world.school_urn.tolist())
    assert len(set(world.gp_code.tolist())) == world.gp_code.size
    assert world.la_code.size >= 30
    assert world.town_name.size >= 150


def test_school_year_age() -> None:
    from datetime import date

    from contactpoint.synth.population import academic_year, age_on_31_august

    dob = np.array(["2022-08-31", "2022-09-01", "2011-01-15"], dtype="datetime64[D]")
    assert academic_year(date(2026, 11, 1)) == 2026
    assert academic_year(date(2027, 3, 1)) == 2026
    # born 31 Aug 2022: Reception in Sept 2026; born a day later: a year behind
    assert age_on_31_august(dob, date(2026, 11, 1)).tolist() == [4, 3, 15]
