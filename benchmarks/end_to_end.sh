#!/usr/bin/env bash
# The whole record core at scale, through the real commands, timed:
#   synth -> import -> link -> evaluate -> two daily deltas (synth --delta-of, import, link)
#   -> twins merged, new children attached to an existing child (benchmarks/linked_checks.py)
# Usage: benchmarks/end_to_end.sh CHILDREN DATABASE_URL WORKDIR
#   e.g. benchmarks/end_to_end.sh 1000000 postgresql+psycopg://postgres@127.0.0.1:5432/cp_e2e /tmp/e2e
# The database must exist and be empty; figures land in WORKDIR/*.log (GNU time -v).
set -euo pipefail
children=${1:?children}; url=${2:?database url}; work=${3:?work dir}
here="$(cd "$(dirname "$0")" && pwd)"; cp_bin="$here/../.venv/bin/contactpoint"
mkdir -p "$work"; cd "$work"
export CONTACTPOINT_DATABASE_URL="$url" CONTACTPOINT_VAR_DIR="$work/var"
[ -f feeds/truth.csv ] || /usr/bin/time -v "$cp_bin" synth --children "$children" --seed 5 --out feeds > synth.log 2>&1
"$cp_bin" db upgrade > /dev/null
/usr/bin/time -v "$cp_bin" import feeds --report-dir reports > import.log 2>&1
/usr/bin/time -v "$cp_bin" link > link.log 2>&1
"$cp_bin" evaluate --truth feeds/truth.csv | tee eval.log
"$here/../.venv/bin/python" "$here/linked_checks.py" "$url" feeds/truth.csv
grep -H -E "Elapsed|Maximum resident" $(ls synth.log import.log link.log 2>/dev/null)
for day in 1 2; do  # daily deltas of 10,000 records against the linked population
  [ -f "delta$day/truth.csv" ] || "$cp_bin" synth --delta-of feeds --seed $((20 + day)) \
      --out "delta$day" --extract-date "2026-11-0$((1 + day))" > /dev/null 2>&1
  /usr/bin/time -v "$cp_bin" import "delta$day" --report-dir "reports-delta$day" > "import-delta$day.log" 2>&1
  /usr/bin/time -v "$cp_bin" link > "link-delta$day.log" 2>&1
  "$here/../.venv/bin/python" "$here/linked_checks.py" "$url" feeds/truth.csv "delta$day/truth.csv"
done
grep -H -E "Elapsed|Maximum resident" import-delta*.log link-delta*.log
