"""Review finding 12: the SQLite database and var/ are created private (0600 / 0700)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from contactpoint.db.engine import make_engine
from contactpoint.settings import load_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> object:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("umask_022")
def test_a_new_sqlite_database_and_its_wal_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "db.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert mode(path.parent) == 0o700
        assert mode(path) == 0o600
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            assert side.exists()
            assert mode(side) == 0o600
    finally:
        engine.dispose()


@pytest.mark.usefixtures("umask_022")
def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    path.touch(mode=0o644)
    path.chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


@pytest.mark.usefixtures("umask_022")
def test_the_state_directory_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh, loose = tmp_path / "var-new", tmp_path / "var-old"
    loose.mkdir(mode=0o755)
    for directory in (fresh, loose):
        monkeypatch.setenv("CONTACTPOINT_VAR_DIR", str(directory))
        assert load_settings().var_dir == directory
        assert mode(directory) == 0o700
