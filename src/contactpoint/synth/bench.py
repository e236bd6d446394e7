"""``run_synth_benchmark``: time and peak memory of a synthetic run, measured in a subprocess."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def run_synth_benchmark(children: int, seed: int, out: Path | None = None) -> dict[str, object]:
    """Generate ``children`` children in a child process; report seconds, peak RSS and size.

    The child process is the ``contactpoint synth`` command itself, so the figure is what a
    user sees; its peak RSS is read from ``getrusage(RUSAGE_CHILDREN)``, which is the largest
    of the children waited for so far: run one benchmark per process for a clean figure.
    """
    with tempfile.TemporaryDirectory(prefix="cp-synth-bench-") as tmp:
        target = out or Path(tmp) / "out"
        cmd = [sys.executable, "-m", "contactpoint", "synth", "--children", str(children),
               "--seed", str(seed), "--out", str(target)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        # a fixed argv: this interpreter and our own command, no shell
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,  # noqa: S603
                       stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kib = usage.ru_maxrss
        cpu = (usage.ru_utime - before.ru_utime) + (usage.ru_stime - before.ru_stime)
        params = json.loads((target / "synth.json").read_text(encoding="utf-8"))
        records = int(sum(params["records"].values()))
        return {
            "children": children,
            "seed": seed,
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),  # user + system: the figure to trust on a busy machine
            "peak_rss_mib": round(peak_kib / 1024, 1),
            "source_records": records,
            "sources": len(params["records"]),
            "records_per_second": round(records / seconds),
            "bytes_written": _tree_bytes(target),
        }
