#!/usr/bin/env bash
# Every benchmark of docs/PERFORMANCE.md in one command, on scratch databases it creates and drops.
#
#   bench/run_all.sh            # the issue's scale: 100,000 customers, ~2,000,000 instalments, ~1,000,000 open
#   bench/run_all.sh --small    # 5,000 customers / 100,000 instalments: checks that every script runs (minutes)
#   bench/run_all.sh --keep     # keep the scratch databases and files afterwards
#
# Needs PostgreSQL at $PG (default postgres://postgres@127.0.0.1:5432) and Debian's wrk for the API
# load test. Every step prints its own figures; the whole output goes to $LOG as well. The machine
# should be otherwise idle: the figures are only as good as the cores they get (PERFORMANCE.md gives
# the load average next to each figure).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PGHOST_ARGS=(-h 127.0.0.1 -U postgres)
SCALE=(--customers 100000 --instalments 2000000 --open-share 0.48)
ROWS=100000
KEEP=0
for arg in "$@"; do
  case "$arg" in
    --small) SCALE=(--customers 5000 --instalments 100000 --open-share 0.48); ROWS=10000 ;;
    --keep) KEEP=1 ;;
    *) echo "unknown option $arg (use --small, --keep)"; exit 2 ;;
  esac
done
STAMP=$(date -u +%Y%m%dT%H%M%S)
LOG=${LOG:-/tmp/huikuan-bench-$STAMP.log}
TMP=$(mktemp -d /tmp/huikuan-bench.XXXXXX)
DB=hk_runall_$STAMP
IMP=hk_runall_imp_$STAMP
PORT=${PORT:-8799}
exec > >(tee "$LOG") 2>&1

cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true
  if [ "$KEEP" = 0 ]; then
    dropdb "${PGHOST_ARGS[@]}" --if-exists "$DB" || true
    dropdb "${PGHOST_ARGS[@]}" --if-exists "$IMP" || true
    rm -rf "$TMP"
  else
    echo "kept: PostgreSQL databases $DB, $IMP; files in $TMP"
  fi
}
trap cleanup EXIT

step() { echo; echo "=== $* ($(date -u +%H:%M:%S), load average $(cut -d' ' -f1-3 /proc/loadavg))"; }

export DATABASE_URL="$PG/$DB"
step "generate ${SCALE[*]} into PostgreSQL $DB"
createdb "${PGHOST_ARGS[@]}" "$DB"
$PY manage.py migrate -v0
$PY bench/generate.py "${SCALE[@]}"
psql "${PGHOST_ARGS[@]}" "$DB" -qc "VACUUM ANALYZE"

step "aging as of several dates, numpy comparison, staff pages"
$PY bench/scale_pages.py --company BENCH01

step "API under 20 concurrent clients"
HUIKUAN_DEMO=1 HUIKUAN_API_USER_RATE=100000/s .venv/bin/huikuan serve --port "$PORT" --processes 2 --threads 2 \
  --no-worker --no-schedule --no-migrate >"$TMP/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 60); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/login/" && break; sleep 1; done
$PY bench/api_load.py --url "http://127.0.0.1:$PORT" --clients 20 --seconds 15 --reports
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=

step "collections worklist"
$PY bench/worklist_bench.py --company BENCH01
step "XLSX exports: the writer alone, then the aging by customer and the whole worklist through the views"
$PY bench/xlsx_bench.py --rows 100000
$PY bench/xlsx_bench.py --company BENCH01
step "credit: re-score, credit checks, order reservations"
$PY bench/credit_bench.py --company BENCH01
step "cash application: 10,000 bank lines against the open items"
$PY bench/bank_match_bench.py --company BENCH01 --lines 10000 --apply 100
step "dunning run"
$PY bench/dunning_bench.py --company BENCH01
step "past-date aging marks and trigger cost"
$PY bench/aging_unseen.py --company BENCH01

step "import of $ROWS documents and $ROWS payments (PostgreSQL $IMP and SQLite)"
createdb "${PGHOST_ARGS[@]}" "$IMP"
DATABASE_URL="$PG/$IMP" $PY bench/import_bench.py --rows "$ROWS"
dropdb "${PGHOST_ARGS[@]}" "$IMP"; createdb "${PGHOST_ARGS[@]}" "$IMP"
DATABASE_URL="$PG/$IMP" $PY bench/import_bench.py --kind payments --rows "$ROWS"
DATABASE_URL="sqlite:///$TMP/import-documents.sqlite3" $PY bench/import_bench.py --rows "$ROWS"
DATABASE_URL="sqlite:///$TMP/import-payments.sqlite3" $PY bench/import_bench.py --kind payments --rows "$ROWS"

step "statement PDF with 1,000 / 2,000 / 5,000 movements"
DATABASE_URL="sqlite:///$TMP/statement.sqlite3" $PY bench/statement_pdf.py --movements 1000 2000 5000
step "cash application on a labelled set of 2,400 lines"
DATABASE_URL="sqlite:///$TMP/banklab.sqlite3" $PY bench/bank_labelled.py --lines 2400

step "done; output in $LOG"
