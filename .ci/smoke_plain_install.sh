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
"${cp[@]}" import "$work/feeds"
"${cp[@]}" link
"${cp[@]}" export links --out "$work/links.csv"
rows=$(($(wc -l < "$work/links.csv") - 1))
[ "$rows" -gt 200 ] || { echo "plain install smoke: only $rows links exported" >&2; exit 1; }
echo "plain install smoke: $rows links exported"
