#!/usr/bin/env bash
# A plain `pip install .` (no extras) into a fresh venv, then the main journey with that install
# only: synth -> import -> link -> export links. Fails if a run-time import is not declared.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/contactpoint-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --upgrade pip
"$work/venv/bin/pip" install --quiet .
cp=("$work/venv/bin/contactpoint")

export CONTACTPOINT_VAR_DIR="$work/var"
unset CONTACTPOINT_DATABASE_URL CONTACTPOINT_LINKAGE_DIR
cd "$work"  # not the checkout: only the installed package is importable
"${cp[@]}" synth --children 200 --seed 7 --out "$work/feeds"
"${cp[@]}" import "$work/feeds" --json > "$work/import.json"
"${cp[@]}" link --json > "$work/link.json"
"${cp[@]}" export links --out "$work/links.csv" --json > "$work/export.json"
"$work/venv/bin/python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
imported, linked, exported = (json.load(open(f"{work}/{n}.json")) for n in ("import", "link", "export"))
landed = sum(f["rows_landed"] for f in imported["files"])
assert imported["ok"] and landed > 200, imported
assert linked["records_linked"] == landed == exported["rows"], (linked, exported)
print(f"plain install smoke: {landed} records linked into {linked['children_created']} children, exported")
PY
