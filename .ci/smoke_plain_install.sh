#!/usr/bin/env bash
# A plain `pip install .` (no extras) into a fresh venv, then the main journey with that install
# only: synth -> import -> link -> export links -> evaluate, review, audit, backup, serve (with
# its metrics server). Fails if a run-time import is not declared.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/contactpoint-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --no-compile --disable-pip-version-check .
echo "plain install smoke: installed in ${SECONDS} s" >&2
cp=("$work/venv/bin/contactpoint")

export CONTACTPOINT_VAR_DIR="$work/var"
unset CONTACTPOINT_DATABASE_URL CONTACTPOINT_LINKAGE_DIR
cd "$work"  # not the checkout: only the installed package is importable
"${cp[@]}" synth --children 200 --seed 7 --out "$work/feeds"
"${cp[@]}" import "$work/feeds" --json > "$work/import.json"
"${cp[@]}" link --json > "$work/link.json"
"${cp[@]}" export links --out "$work/links.csv" --json > "$work/export.json"
"${cp[@]}" evaluate --truth "$work/feeds/truth.csv" --json > "$work/evaluate.json"
"${cp[@]}" review list --json > /dev/null
"${cp[@]}" audit checkpoint > /dev/null
"${cp[@]}" audit verify --json > /dev/null
"${cp[@]}" backup "$work/backup" --json > /dev/null
# the web layer and the metrics server, from the same install
"${cp[@]}" serve --port 18731 --metrics-port 18732 2> "$work/serve.log" &
server=$!
up=""
for _ in $(seq 1 100); do
  if "$work/venv/bin/python" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:18731/health', timeout=1); u.urlopen('http://127.0.0.1:18732/metrics', timeout=1)" 2>/dev/null; then
    up=yes; break
  fi
  sleep 0.2
done
kill "$server"; wait "$server" || true
[ -n "$up" ] || { cat "$work/serve.log" >&2; echo "plain install smoke: serve did not answer" >&2; exit 1; }
"$work/venv/bin/python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
imported, linked, exported = (json.load(open(f"{work}/{n}.json")) for n in ("import", "link", "export"))
landed = sum(f["rows_landed"] for f in imported["files"])
assert imported["ok"] and landed > 200, imported
assert linked["records_linked"] == landed == exported["rows"], (linked, exported)
accuracy = json.load(open(f"{work}/evaluate.json"))
assert accuracy["precision"] > 0.9 and accuracy["recall"] > 0.9, accuracy
print(f"plain install smoke: {landed} records linked into {linked['children_created']} children, exported")
PY
