#!/usr/bin/env bash
# Whole-program throughput of `batchline collect` on generated prediction rows, page cache warm,
# beside the obvious Python join (benches/collect_dict_join.py) and under a memory cap.
#
#   benches/collect.sh                      # ~1 GB of prediction rows, 3 runs
#   SIZE=100MB RUNS=1 benches/collect.sh    # quick check (~123 MB of rows)
#
# Builds the release binary (unless BATCHLINE names one), then, once per SIZE, into $BENCH_DIR:
#   batchline gen-corpus --seed 1 --shape short --size SIZE -o short-SIZE.jsonl
#   batchline prepare --tokens off short-SIZE.jsonl -o run-SIZE
#   batchline gen-predictions run-SIZE -o pred-SIZE --seed 1      (2% failed rows)
# reads corpus, shards and predictions once to warm the page cache, then times RUNS runs of
#   batchline collect RUN --predictions DIR -o OUT --no-retry-round --format json --trust-keys
# (keys trusted, as for a job's own rows) and the same without --trust-keys (each keyed row's
# echoed request checked, the default for --predictions files), output to /dev/null
# (OUT removed and `sync` before every run, untimed), one run of
#   python3 benches/collect_dict_join.py RUN DIR OUT.py
# and one memory-capped collect run: the cap is half the output's size, applied with
# `systemd-run --user --scope -p MemoryMax=`, else `systemd-run --scope` (system manager), else a
# cgroup v1 memory group named by CGROUP_V1 (a folder you created, e.g.
# /sys/fs/cgroup/memory/bench), else `prlimit --as=` (address space: the mapped predictions and
# inputs count against it, so it is far stricter than a memory cap). The capped run passes when it
# exits 0 or 1 and writes one line per non-blank input line.
#
# Printed per command: best and median wall seconds (monotonic clock), MB/s of prediction bytes
# (10^6 bytes), peak RSS (GNU time %M: includes resident pages of mapped files) and peak RssAnon
# (polled every 10 ms: heap and stacks). Raw lines go to $BENCH_DIR/collect.log.
#
# Environment:
#   SIZE=800MB          corpus size (gen-corpus syntax); the rows come to ~1.23x the corpus
#   RUNS=3              timed collect runs
#   THREADS=            worker threads (-j N is not a collect flag: sets RAYON_NUM_THREADS)
#   PYTHON=1            0 skips the Python baseline
#   CAPPED=1            0 skips the memory-capped run
#   CGROUP_V1=          a cgroup v1 memory folder to use for the capped run (see above)
#   CAP_TIMEOUT=300     seconds before the capped run is stopped (a cap below the working set
#                       makes it thrash rather than fail)
#   BENCH_DIR=/tmp/batchline-bench-collect
#   BATCHLINE=          a batchline binary to use instead of building one
#   CARGO_TARGET_DIR    honoured by the build (default: the crate's target/)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=${SIZE:-800MB}
RUNS=${RUNS:-3}
THREADS=${THREADS:-}
PYTHON=${PYTHON:-1}
CAPPED=${CAPPED:-1}
CGROUP_V1=${CGROUP_V1:-}
CAP_TIMEOUT=${CAP_TIMEOUT:-300}
BENCH_DIR=${BENCH_DIR:-/tmp/batchline-bench-collect}

mkdir -p "$BENCH_DIR"
LOG=$BENCH_DIR/collect.log

if [ -z "${BATCHLINE:-}" ]; then
    echo "building release binary..." >&2
    cargo build --release --quiet --bin batchline --manifest-path "$ROOT/Cargo.toml"
    BATCHLINE=${CARGO_TARGET_DIR:-$ROOT/target}/release/batchline
fi
[ -x "$BATCHLINE" ] || { echo "no batchline binary at $BATCHLINE" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }
if [ -n "$THREADS" ]; then export RAYON_NUM_THREADS=$THREADS; fi

# The measuring wrapper (benches/common/measure.py), best_median and measure_runs.
# shellcheck source=common/bench.sh
. "$ROOT/benches/common/bench.sh"


corpus=$BENCH_DIR/short-$SIZE.jsonl
run=$BENCH_DIR/run-$SIZE
pred=$BENCH_DIR/pred-$SIZE
out=$BENCH_DIR/out-$SIZE.jsonl
if [ ! -s "$corpus" ]; then
    echo "generating $corpus (seed 1)..." >&2
    "$BATCHLINE" gen-corpus --seed 1 --shape short --size "$SIZE" -o "$corpus"
fi
if [ ! -s "$run/manifest.json" ]; then
    echo "preparing $run..." >&2
    rm -rf "$run" "$pred"
    "$BATCHLINE" prepare --tokens off "$corpus" -o "$run" >/dev/null
fi
if [ ! -d "$pred" ]; then
    echo "generating predictions in $pred..." >&2
    "$BATCHLINE" gen-predictions "$run" -o "$pred.tmp" --seed 1
    mv "$pred.tmp" "$pred"
fi
pred_bytes=$(cat "$pred"/predictions*.jsonl | wc -c)
pred_rows=$(cat "$pred"/predictions*.jsonl | wc -l)
in_lines=$(grep -cv '^[[:space:]]*$' "$corpus" || true)
echo "corpus: $(stat -c %s "$corpus") bytes, $in_lines non-blank lines; predictions: $pred_bytes bytes, $pred_rows rows" >&2
cat "$corpus" "$run"/shards/* "$pred"/* >/dev/null # warm the page cache

{
    echo "# $(date -u +%FT%TZ) $(uname -r) cpus=$(nproc) $(lscpu | sed -n 's/^Model name: *//p')"
    echo "# batchline: $("$BATCHLINE" --version 2>/dev/null | head -1) SIZE=$SIZE pred_bytes=$pred_bytes rows=$pred_rows"
} >>"$LOG"

ROWS=()
collect_runs() { # name runs argv…
    local name=$1 runs=$2
    shift 2
    measure_runs "$name" "$runs" 'rm -f "$out" "$out.py"' "$@"
    ROWS+=("$name $MEASURED")
}

check_lines() { # file
    local n
    n=$(wc -l <"$1")
    if [ "$n" -eq "$in_lines" ]; then echo "ok ($n lines)"; else echo "WRONG ($n lines, expected $in_lines)"; fi
}

COLLECT=("$BATCHLINE" collect "$run" --predictions "$pred" -o "$out" --no-retry-round --format json)
if "$BATCHLINE" collect --help | grep -q -- --trust-keys; then
    # `collect`: keyed rows matched by key alone, as a job's own rows are; `verified`: each keyed
    # row's echoed request hashed and checked, as for --predictions files by default.
    collect_runs collect "$RUNS" "${COLLECT[@]}" --trust-keys
    collect_runs verified "$RUNS" "${COLLECT[@]}"
else
    collect_runs collect "$RUNS" "${COLLECT[@]}"
fi
collect_check=$(check_lines "$out")
out_bytes=$(stat -c %s "$out")

py_check=skipped
if [ "$PYTHON" = 1 ]; then
    collect_runs python 1 python3 "$ROOT/benches/collect_dict_join.py" "$run" "$pred" "$out.py" "$corpus"
    py_check=$(check_lines "$out.py")
    rm -f "$out.py"
fi

capped="skipped"
if [ "$CAPPED" = 1 ]; then
    cap=$((out_bytes / 2))
    cap_mb=$((cap / 1000000))
    capped="no way to cap memory found"
    rm -f "$out"
    sync
    how=""
    if systemd-run --user --scope -q -p MemoryMax="$cap" true >/dev/null 2>&1; then
        how="systemd-run --user --scope -p MemoryMax=$cap"
        set +e; systemd-run --user --scope -q -p MemoryMax="$cap" timeout "$CAP_TIMEOUT" "${COLLECT[@]}" >/dev/null 2>>"$LOG.stderr"; code=$?; set -e
    elif systemd-run --scope -q -p MemoryMax="$cap" true >/dev/null 2>&1; then
        how="systemd-run --scope -p MemoryMax=$cap"
        set +e; systemd-run --scope -q -p MemoryMax="$cap" timeout "$CAP_TIMEOUT" "${COLLECT[@]}" >/dev/null 2>>"$LOG.stderr"; code=$?; set -e
    elif [ -n "$CGROUP_V1" ] && [ -w "$CGROUP_V1/memory.limit_in_bytes" ]; then
        how="cgroup v1 $CGROUP_V1 memory.limit_in_bytes=$cap"
        echo "$cap" >"$CGROUP_V1/memory.limit_in_bytes"
        set +e
        timeout "$CAP_TIMEOUT" bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$CGROUP_V1" "${COLLECT[@]}" >/dev/null 2>>"$LOG.stderr"
        code=$?
        set -e
    elif command -v prlimit >/dev/null; then
        how="prlimit --as=$cap"
        set +e; timeout "$CAP_TIMEOUT" prlimit --as="$cap" "${COLLECT[@]}" >/dev/null 2>>"$LOG.stderr"; code=$?; set -e
    fi
    if [ -n "$how" ]; then
        if [ "$code" -le 1 ] && [ -f "$out" ]; then
            capped="$how (${cap_mb} MB, output $((out_bytes / 1000000)) MB): exit $code, $(check_lines "$out")"
        else
            capped="$how (${cap_mb} MB, output $((out_bytes / 1000000)) MB): FAILED, exit $code$([ "$code" = 124 ] && echo " (timed out after ${CAP_TIMEOUT} s)") (see $LOG.stderr)"
        fi
    fi
    echo "capped: $capped" >>"$LOG"
fi
rm -f "$out"

echo
printf 'batchline %s on %s (%s CPUs), page cache warm; %s MB of prediction rows (%s rows), %s input lines\n' \
    "$("$BATCHLINE" --version 2>/dev/null | head -1 | awk '{print $2}')" \
    "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)" "$((pred_bytes / 1000000))" "$pred_rows" "$in_lines"
printf '%-8s %8s %8s %9s %9s %10s %8s %s\n' command best_s median_s best_MB/s med_MB/s peakRSS_MB anon_MB exit
for row in "${ROWS[@]}"; do
    read -r name best median rss anon codes <<<"$row"
    awk -v n="$name" -v b="$pred_bytes" -v best="$best" -v med="$median" \
        -v rss="$rss" -v anon="$anon" -v codes="$codes" 'BEGIN {
        printf "%-8s %8.3f %8.3f %9.0f %9.0f %10.0f %8.0f %s\n",
            n, best, med, b / 1e6 / best, b / 1e6 / med, rss / 1024, anon / 1024, substr(codes, 2) }'
done
echo "output lines: collect $collect_check; python $py_check"
echo "memory-capped collect: $capped"
echo "MB/s = prediction bytes (10^6) / wall; peakRSS = GNU time %M (includes mapped files' resident"
echo "pages); anon = peak RssAnon polled every 10 ms. Raw runs: $LOG"
