"""Time and peak RSS of ``contactpoint synth``: python benchmarks/bench_synth.py [--children N]."""

from __future__ import annotations

import argparse
import json
import os

from contactpoint.synth.bench import run_synth_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    figures = run_synth_benchmark(args.children, args.seed)
    figures["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
