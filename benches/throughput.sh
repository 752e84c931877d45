#!/usr/bin/env bash
# Whole-program throughput of batchline on generated corpora, page cache warm.
#
#   benches/throughput.sh                       # 1 GB of each shape, 3 runs each
#   SIZE=100MB RUNS=1 benches/throughput.sh     # quick check
#
# Builds the release binary (unless BATCHLINE names one), generates the corpora once into
# $BENCH_DIR with fixed seeds (short: 1, long: 2; the criterion benches use the same seeds),
# reads each file once to warm the page cache, then times on each file:
#
#   wc -l FILE                                   (reference: one pass over the bytes)
#   batchline validate --format json FILE > /dev/null
#   batchline stats --tokens off FILE > /dev/null
#   batchline prepare --tokens off FILE -o RUN > /dev/null   (RUN removed and `sync` before every
#                                                run, untimed)
#   batchline stats --tokens exact FILE > /dev/null          (only with COMMANDS=… stats-exact)
#
# (`--tokens` is left out when the binary has no such flag: prepare was tokens-off before it.)
#
# Every command runs RUNS times under `/usr/bin/time -f '%e s %M KB'` inside a small Python
# wrapper that also polls /proc/PID/status every 10 ms for the peak RssAnon. Printed per command:
# best and median wall seconds (monotonic clock, ms resolution), GB/s = size / wall (1 GB = 10^9
# bytes), peak RSS (GNU time's %M: it includes the resident pages of the memory-mapped input, so
# it grows with the file for a mapped reader) and peak anonymous memory (RssAnon: heap and stacks,
# not the mapping), also as a share of the input size. Raw per-run lines go to
# $BENCH_DIR/throughput.log.
#
# Environment:
#   SIZE=1GB            corpus size (gen-corpus syntax: 100MB, 1GB, 10GB)
#   RUNS=3              runs per command
#   SHAPES="short long" corpora to run
#   THREADS=            worker threads for batchline (-j N); empty = all cores
#   COMMANDS="wc validate stats prepare"   commands to time; also `stats-exact` (token
#                       counting with the Gemma 3 vocabulary: run benches/fetch_tokenizer.sh first)
#   BENCH_DIR=/tmp/batchline-bench         corpora, run folders, log
#   BATCHLINE=          a batchline binary to use instead of building one
#   CARGO_TARGET_DIR    honoured by the build (default: the crate's target/)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=${SIZE:-1GB}
RUNS=${RUNS:-3}
SHAPES=${SHAPES:-short long}
THREADS=${THREADS:-}
COMMANDS=${COMMANDS:-wc validate stats prepare}
BENCH_DIR=${BENCH_DIR:-/tmp/batchline-bench}

mkdir -p "$BENCH_DIR"
LOG=$BENCH_DIR/throughput.log

if [ -z "${BATCHLINE:-}" ]; then
    echo "building release binary..." >&2
    cargo build --release --quiet --bin batchline --manifest-path "$ROOT/Cargo.toml"
    BATCHLINE=${CARGO_TARGET_DIR:-$ROOT/target}/release/batchline
fi
[ -x "$BATCHLINE" ] || { echo "no batchline binary at $BATCHLINE" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }

THREAD_ARGS=()
if [ -n "$THREADS" ]; then THREAD_ARGS=(-j "$THREADS"); fi
TOKENS_OFF=() TOKENS_EXACT=()
if "$BATCHLINE" prepare --help 2>/dev/null | grep -q -- '--tokens'; then
    TOKENS_OFF=(--tokens off) TOKENS_EXACT=(--tokens exact)
fi

# The measuring wrapper (benches/common/measure.py), best_median and measure_runs.
# shellcheck source=common/bench.sh
. "$ROOT/benches/common/bench.sh"

seed_of() { case $1 in short) echo 1 ;; long) echo 2 ;; *) echo "unknown shape $1" >&2; exit 2 ;; esac; }


ROWS=()
{
    echo "# $(date -u +%FT%TZ) $(uname -r) cpus=$(nproc) $(lscpu | sed -n 's/^Model name: *//p')"
    echo "# batchline: $("$BATCHLINE" --version 2>/dev/null | head -1)"
} >>"$LOG"

for shape in $SHAPES; do
    file=$BENCH_DIR/$shape-$SIZE.jsonl
    if [ ! -s "$file" ]; then
        echo "generating $file (seed $(seed_of "$shape"))..." >&2
        "$BATCHLINE" gen-corpus --seed "$(seed_of "$shape")" --shape "$shape" --size "$SIZE" -o "$file"
    fi
    bytes=$(stat -c %s "$file")
    lines=$(wc -l <"$file")
    echo "$shape: $file, $bytes bytes, $lines lines" >&2
    cat "$file" >/dev/null # warm the page cache
    run=$BENCH_DIR/run-$shape
    for command in $COMMANDS; do
        case $command in
            wc) argv=(wc -l "$file") ;;
            validate) argv=("$BATCHLINE" validate "${THREAD_ARGS[@]}" --format json "$file") ;;
            stats) argv=("$BATCHLINE" stats "${THREAD_ARGS[@]}" "${TOKENS_OFF[@]}" "$file") ;;
            stats-exact) argv=("$BATCHLINE" stats "${THREAD_ARGS[@]}" "${TOKENS_EXACT[@]}" "$file") ;;
            prepare) argv=("$BATCHLINE" prepare "${THREAD_ARGS[@]}" "${TOKENS_OFF[@]}" "$file" -o "$run") ;;
            *) echo "unknown command $command" >&2; exit 2 ;;
        esac
        measure_runs "$shape $command" "$RUNS" 'rm -rf "$run"' "${argv[@]}"
        ROWS+=("$shape $command $bytes $lines $MEASURED")
    done
    rm -rf "$run"
done

echo
printf 'batchline %s on %s (%s CPUs), page cache warm, %s run(s) each%s\n' \
    "$("$BATCHLINE" --version 2>/dev/null | head -1 | awk '{print $2}')" \
    "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)" "$RUNS" \
    "${THREADS:+, -j $THREADS}"
printf '%-6s %-11s %8s %8s %8s %8s %8s %9s %9s %7s %s\n' \
    shape command size_MB best_s median_s best_GB/s med_GB/s peakRSS_MB anon_MB anon/in exit
for row in "${ROWS[@]}"; do
    read -r shape command bytes lines best median rss anon codes <<<"$row"
    awk -v s="$shape" -v c="$command" -v b="$bytes" -v best="$best" -v med="$median" \
        -v rss="$rss" -v anon="$anon" -v codes="$codes" 'BEGIN {
        printf "%-6s %-11s %8.0f %8.3f %8.3f %8.2f %8.2f %10.0f %9.0f %7.3f %s\n",
            s, c, b / 1e6, best, med, b / 1e9 / best, b / 1e9 / med,
            rss / 1024, anon / 1024, anon * 1024 / b, substr(codes, 2) }'
done
echo
echo "peakRSS = GNU time %M (max resident set: includes the mapped input's resident pages);"
echo "anon = peak RssAnon polled every 10 ms (heap/stacks, not the mapping); anon/in = anon / input size."
echo "Raw runs: $LOG"
