"""The CLI's way out."""

from __future__ import annotations

import gc

import pytest

from contactpoint.cli.main import main


def test_a_finished_command_leaves_its_objects_out_of_the_last_collection() -> None:
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as done:
            main(["db", "--help"])
        assert done.value.code == 0
        assert gc.get_freeze_count() > 0  # the interpreter's final collection skips them
    finally:
        gc.unfreeze()
