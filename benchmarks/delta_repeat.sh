#!/usr/bin/env bash
# One daily delta, imported and linked N times, each time on a fresh copy of the same linked
# database, so the figures can be repeated (the machines are noisy; quote the median):
#   benchmarks/delta_repeat.sh DATABASE_URL WORKDIR DELTA_DIR [N] [one]
# ("one": `contactpoint import DELTA_DIR --link`, one process, instead of import then link)
#   e.g. benchmarks/delta_repeat.sh postgresql+psycopg://postgres@127.0.0.1:5432/cp_e2e /tmp/e2e /tmp/e2e/delta3 3
# DATABASE_URL and WORKDIR: those end_to_end.sh ran with (the database linked, WORKDIR/var the
# engine's store). A delta: contactpoint synth --delta-of WORKDIR/feeds --seed 23 --out DELTA_DIR
# --extract-date 2026-11-04. The first call keeps the state as a template (database <name>_base,
# WORKDIR/var_base); every trial re-creates the database from it under its own name, since the
# engine's store is marked with the database it describes. Figures: WORKDIR/delta-trial-*.log.
# CONTACTPOINT_BIN: the command to time (default: this checkout's .venv/bin/contactpoint); e.g.
# a git worktree without its own venv: CONTACTPOINT_BIN=/path/main/.venv/bin/contactpoint
# PYTHONPATH=$PWD/src benchmarks/delta_repeat.sh …
set -euo pipefail
url=${1:?database url}; work=${2:?work dir}; delta=${3:?delta dir}; n=${4:-3}; mode=${5:-two}
here="$(cd "$(dirname "$0")" && pwd)"; cp_bin=${CONTACTPOINT_BIN:-"$here/../.venv/bin/contactpoint"}
db=${url##*/}; libpq=${url/+psycopg/}; admin="${libpq%/*}/postgres"
if [ ! -d "$work/var_base" ]; then
  psql -q "$admin" -c "CREATE DATABASE ${db}_base TEMPLATE $db"
  cp -r "$work/var" "$work/var_base"
fi
export CONTACTPOINT_DATABASE_URL="$url" CONTACTPOINT_VAR_DIR="$work/var"
for trial in $(seq 1 "$n"); do
  psql -q "$admin" -c "DROP DATABASE $db WITH (FORCE)" -c "CREATE DATABASE $db TEMPLATE ${db}_base"
  rm -rf "$work/var" "$work/reports-trial"; cp -r "$work/var_base" "$work/var"; sync
  log="$work/delta-trial-$trial.log"
  if [ "$mode" = one ]; then
    /usr/bin/time -f "import --link %e s (cpu %U+%S s), peak %M KiB" "$cp_bin" import "$delta" --link \
        --report-dir "$work/reports-trial" > "$log" 2>&1
  else
    /usr/bin/time -f "import %e s (cpu %U+%S s), peak %M KiB" "$cp_bin" import "$delta" \
        --report-dir "$work/reports-trial" > "$log" 2>&1
    /usr/bin/time -f "link %e s (cpu %U+%S s), peak %M KiB" "$cp_bin" link >> "$log" 2>&1
  fi
  echo "trial $trial (load $(cut -d' ' -f1 /proc/loadavg)): $(grep -E '^(import|link) ' "$log" | paste -sd ' ')"
done
