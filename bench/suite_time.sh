#!/usr/bin/env bash
# Wall time of `make test` before and after, one right after the other:
#   before: `make test` at BASE (default d0e8a23), in a clone with its own .venv
#   after:  `make test` at HEAD (a fresh clone) running the test files BASE had, and
#           with FULL=1 also the whole suite of HEAD
# Each run gets a database of its own (DATABASE_URL=$PG/portal_suite_base, _head).
#   bash bench/suite_time.sh            # from the repository's root
#   VENV=/path/to/.venv bash bench/suite_time.sh   # HEAD's clone uses that .venv (else `make venv` builds one)
#   SAME=1 bash bench/suite_time.sh     # "after" runs BASE's own tests as HEAD has them (see below)
# With SAME=1, "after" runs, instead of the whole files, the tests of HEAD whose node ids BASE
# had (a parametrized test whose ids changed since runs with all of HEAD's ids; a test BASE had
# that HEAD names differently is listed, and given by hand in EXTRA="id ...").
set -euo pipefail
REPO=$(git rev-parse --show-toplevel)
BASE=${BASE:-d0e8a23}
WORK=${WORK:-$(mktemp -d /tmp/suite_time.XXXXXX)}
PG=${PG:-postgres://postgres@127.0.0.1:5432}

[ -d "$WORK/base" ] || { git clone -q "$REPO" "$WORK/base"; git -C "$WORK/base" checkout -q "$BASE"; }
[ -d "$WORK/head" ] || git clone -q "$REPO" "$WORK/head"
[ -z "${VENV:-}" ] || [ -e "$WORK/head/.venv" ] || ln -s "$VENV" "$WORK/head/.venv"
(cd "$WORK/base" && make -s venv >/dev/null)
(cd "$WORK/head" && make -s venv >/dev/null)
files=$(git -C "$REPO" ls-tree -r --name-only "$BASE" tests | grep 'test_.*\.py$' | tr '\n' ' ')

run() {  # name, folder, database, pytest arguments
    local name=$1 dir=$2 db=$3; shift 3
    echo "== $name ($(git -C "$dir" rev-parse --short HEAD)) load before: $(uptime | sed 's/.*load average: //')"
    local start end
    start=$(date +%s.%N)
    (cd "$dir" && DATABASE_URL="$PG/$db" make test PYTEST_ARGS="-q $*" 2>&1 | tail -1)
    end=$(date +%s.%N)
    echo "== $name wall $(echo "$end - $start" | bc) s; load after: $(uptime | sed 's/.*load average: //')"
}

run before "$WORK/base" portal_suite_base
if [ -n "${SAME:-}" ]; then
    collect() { (cd "$1" && DATABASE_URL="$PG/$2" .venv/bin/python -m pytest --collect-only -q -p no:xdist $3 2>/dev/null | grep '::' | sort); }
    collect "$WORK/base" portal_suite_base "" > "$WORK/base_ids"
    collect "$WORK/head" portal_suite_head "$files" > "$WORK/head_ids"
    {
        comm -12 "$WORK/base_ids" "$WORK/head_ids"
        for test in $(comm -23 "$WORK/base_ids" "$WORK/head_ids" | sed 's/\[.*//' | sort -u); do
            grep -F "$test[" "$WORK/head_ids" || echo "$test" >&2
        done
        for id in ${EXTRA:-}; do echo "$id"; done
    } 2> "$WORK/unmatched" | sort -u > "$WORK/same_ids"
    echo "== BASE's tests: $(wc -l < "$WORK/base_ids"); run at HEAD: $(wc -l < "$WORK/same_ids"); not found at HEAD: $(tr '\n' ' ' < "$WORK/unmatched")"
    run "after, BASE's tests" "$WORK/head" portal_suite_head "@$WORK/same_ids"
else
    run after "$WORK/head" portal_suite_head "$files"
fi
if [ -n "${FULL:-}" ]; then run "after, whole suite" "$WORK/head" portal_suite_head; fi
