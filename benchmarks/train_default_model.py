"""Train the default model shipped in the package (src/contactpoint/matching/default_model.json).

    .venv/bin/python benchmarks/train_default_model.py [--children 20000] [--seed 1]

Generates a synthetic population with ``contactpoint synth``, reads its feeds into a record
frame, trains with ``engine.train`` and copies the artefact (and its Markdown report) into the
package. The artefact is content-hashed; ``engine.load_model()`` verifies it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from linkage_data import synth_csv

from contactpoint.matching import engine

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "contactpoint" / "matching"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cp-default-") as tmp_s:
        tmp = Path(tmp_s)
        exe = Path(sys.executable).with_name("contactpoint")
        subprocess.run(
            [str(exe), "synth", "--children", str(args.children), "--seed", str(args.seed),
             "--out", str(tmp / "synth")],
            check=True, capture_output=True,
        )
        records, _ = synth_csv(tmp / "synth")
        model = engine.train(records, tmp / "model", workdir=tmp / "work")
        assert model.path is not None
        shutil.copyfile(model.path, PACKAGE / "default_model.json")
        report = model.path.with_name(f"training-report-{model.version}.md")
        shutil.copyfile(report, PACKAGE / "default_model_report.md")
        print(f"default model {model.version} trained on {records.height} records "
              f"({args.children} synthetic children, seed {args.seed}); "
              f"rules: {model.rules}")


if __name__ == "__main__":
    main()
