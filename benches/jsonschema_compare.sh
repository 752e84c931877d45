#!/usr/bin/env bash
# batchline validate against the fastest JSON-Schema baseline, for the budget "validate >= 4x the
# jsonschema crate on every line size" (docs/BENCHMARKS.md, "validate against jsonschema").
#
#   benches/jsonschema_compare.sh [SIZE]        # default 1GB; e.g. 100MB
#
# The baseline (benches/jsonschema_compare/, a detached Cargo package that batchline's builds and
# CI never build): the file memory-mapped, lines split and checked on a rayon pool of 2 threads,
# each parsed with serde_json into a Value and checked with jsonschema 0.61's `is_valid` against
# Google's Vertex discovery document converted to JSON Schema (benches/jsonschema_compare/convert.py).
# batchline runs `validate -q --threads 2`. Both run on the same file, page cache warm, alternating
# (batchline, jsonschema, batchline, ...) for $RUNS rounds; each is timed as a whole process (the
# schema's compilation is inside the baseline's process time, its own `seconds` excludes it). The
# table shows the best of the runs: whole-process times and their ratio, then the baseline's own
# time without the schema's compilation (its `seconds`: mapping to the last line) and batchline's
# whole-process time over it.
#
# Environment:
#   BIN=target/release/batchline                 the batchline binary (built beforehand)
#   BENCH_DIR=/tmp/batchline-bench               corpora (shared with benches/throughput.sh)
#   DISCOVERY=target/discovery/googleapiclient/discovery_cache/documents/aiplatform.v1.json
#   SHAPES="tiny short long"  RUNS=3  THREADS=2
#
# Corpora: $BENCH_DIR/{short,long}-SIZE.jsonl from `batchline gen-corpus` with the seeds of
# benches/throughput.sh (short: 1, long: 2); $BENCH_DIR/tiny-SIZE.jsonl from benches/tiny_corpus.py
# (seed 7). Generated when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1GB}
BIN=${BIN:-target/release/batchline}
BENCH_DIR=${BENCH_DIR:-/tmp/batchline-bench}
DISCOVERY=${DISCOVERY:-target/discovery/googleapiclient/discovery_cache/documents/aiplatform.v1.json}
SHAPES=${SHAPES:-tiny short long}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
PKG=benches/jsonschema_compare
JS=$PKG/target/release/jsonschema-validate
SCHEMA=$BENCH_DIR/vertex-request.schema.json
mkdir -p "$BENCH_DIR"

[ -x "$BIN" ] || { echo "no batchline binary at $BIN (cargo build --release, or set BIN)" >&2; exit 2; }
[ -f "$DISCOVERY" ] || { echo "no discovery document at $DISCOVERY (set DISCOVERY)" >&2; exit 2; }
(cd "$PKG" && cargo build --release --locked --quiet)
python3 "$PKG/convert.py" "$DISCOVERY" "$SCHEMA"

seed_of() { case $1 in short) echo 1 ;; long) echo 2 ;; *) echo "unknown shape $1" >&2; exit 2 ;; esac; }

# now: monotonic-enough wall clock in seconds with ns digits.
now() { date +%s.%N; }

# run_timed OUT CMD...: runs CMD with stdout to OUT, prints its wall seconds.
run_timed() {
    local out=$1 t0 t1
    shift
    t0=$(now)
    "$@" >"$out" 2>>"$BENCH_DIR/jsonschema_compare.stderr" || true
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

rows=()
for shape in $SHAPES; do
    file=$BENCH_DIR/$shape-$SIZE.jsonl
    if [ ! -f "$file" ]; then
        echo "generating $file..." >&2
        if [ "$shape" = tiny ]; then
            python3 benches/tiny_corpus.py --seed 7 --size "$SIZE" -o "$file" >&2
        else
            "$BIN" gen-corpus --seed "$(seed_of "$shape")" --shape "$shape" --size "$SIZE" -o "$file" >&2
        fi
    fi
    cat "$file" >/dev/null  # warm the page cache
    bytes=$(stat -c %s "$file")
    bl_times=() js_times=() js_inner=()
    for round in $(seq "$RUNS"); do
        bl_times+=("$(run_timed "$BENCH_DIR/bl.out" "$BIN" validate -q --threads "$THREADS" "$file")")
        js_times+=("$(run_timed "$BENCH_DIR/js.out" "$JS" "$SCHEMA" "$file" --threads "$THREADS")")
        js_inner+=("$(python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])' <"$BENCH_DIR/js.out")")
        echo "$shape round $round: batchline ${bl_times[-1]} s, jsonschema ${js_times[-1]} s (${js_inner[-1]} s after compiling the schema)" >&2
    done
    bl_valid=$(grep -o '[0-9,]* valid' "$BENCH_DIR/bl.out" | head -1 | tr -d ', valid')
    bl_lines=$(grep -o '[0-9,]* lines' "$BENCH_DIR/bl.out" | head -1 | tr -d ', lines')
    js_line=$(cat "$BENCH_DIR/js.out")
    js_valid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["valid"])' "$js_line")
    bl_best=$(printf '%s\n' "${bl_times[@]}" | sort -g | head -1)
    js_best=$(printf '%s\n' "${js_times[@]}" | sort -g | head -1)
    js_in=$(printf '%s\n' "${js_inner[@]}" | sort -g | head -1)
    rows+=("$(awk -v s="$shape" -v b="$bytes" -v x="$bl_best" -v y="$js_best" -v bv="$bl_valid" -v jv="$js_valid" -v n="$bl_lines" -v z="$js_in" \
        'BEGIN { printf "%-6s %8.0f %9s %12.3f %8.3f %12.3f %8.3f %6.2fx %10.3f %6.2fx %16s %16s\n", s, b/1e6, n, x, b/1e9/x, y, b/1e9/y, y/x, z, z/x, bv, jv }')")
    if [ "$bl_valid" != "$js_valid" ]; then
        echo "warning: $shape: batchline counts $bl_valid valid lines, jsonschema $js_valid ($js_line); see $JS --explain N" >&2
    fi
done

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $THREADS threads each; best of $RUNS"
printf '%-6s %8s %9s %12s %8s %12s %8s %7s %10s %7s %16s %16s\n' shape MB lines batchline_s GB/s jsonschema_s GB/s ratio js_inner_s ratio batchline_valid jsonschema_valid
printf '%s\n' "${rows[@]}"
