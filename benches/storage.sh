#!/usr/bin/env bash
# Storage throughput on loopback: a run written to a real storage emulator (moto) through the GCS
# backend, beside a plain single PUT of the same bytes with curl, and `prepare -o gs://…` beside a
# local prepare. Usage:
#   benches/storage.sh [BATCHLINE] [SIZE]      (defaults: target/release/batchline, 1GB)
# Needs moto (tests/storage/setup.sh) and curl. Prints one line per measurement: seconds, MB/s and,
# for batchline, the peak anonymous memory (RssAnon, polled every 10 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
BATCHLINE=${1:-target/release/batchline}
SIZE=${2:-1GB}
BENCH_DIR=${BENCH_DIR:-/tmp/batchline-bench}
mkdir -p "$BENCH_DIR"
bash tests/storage/setup.sh >/dev/null
export GCE_METADATA_HOST=127.0.0.1:9 GCE_METADATA_ROOT=127.0.0.1:9 GCE_METADATA_IP=127.0.0.1:9
export AWS_METADATA_ENDPOINT=http://127.0.0.1:9

input=$BENCH_DIR/short-$SIZE.jsonl
[ -f "$input" ] || "$BATCHLINE" gen-corpus --seed 1 --shape short --size "$SIZE" -o "$input"
bytes=$(stat -c %s "$input")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/moto-venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true' EXIT
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.2; done
curl -s -X PUT -o /dev/null "http://127.0.0.1:$port/bench"
export BATCHLINE_GCS_ENDPOINT=http://127.0.0.1:$port BATCHLINE_ACCESS_TOKEN=bench

# wall seconds and peak RssAnon (KB) of a command
measure() {
    python3 - "$@" <<'PY'
import subprocess, sys, time
start = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
anon = 0
while p.poll() is None:
    try:
        with open(f"/proc/{p.pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    anon = max(anon, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.01)
print(f"{time.monotonic() - start:.2f} {p.returncode} {anon}")
PY
}
report() { # label seconds exit anon_kb bytes
    awk -v l="$1" -v s="$2" -v e="$3" -v a="$4" -v b="$5" 'BEGIN {
        printf "%-34s %7.2f s  %7.1f MB/s  exit %s  peak anon %s MB\n", l, s, b / s / 1e6, e, (a == "-" ? "-" : sprintf("%.0f", a / 1024)) }'
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; input $input ($bytes bytes); moto on 127.0.0.1:$port"
rm -rf "$BENCH_DIR/run-local"
read -r s e a < <(measure "$BATCHLINE" prepare "$input" -o "$BENCH_DIR/run-local" --tokens off -q)
report "prepare (local)" "$s" "$e" "$a" "$bytes"
run_bytes=$(du -sb "$BENCH_DIR/run-local" | cut -f1)
read -r s e a < <(measure "$BATCHLINE" upload "$BENCH_DIR/run-local" gs://bench/uploaded -q)
report "upload (local run → moto)" "$s" "$e" "$a" "$run_bytes"
shard=$(ls -S "$BENCH_DIR"/run-local/shards/*.jsonl | head -1)
shard_bytes=$(stat -c %s "$shard")
start=$(date +%s.%N)
curl -s -f -o /dev/null -T "$shard" "http://127.0.0.1:$port/bench/curl-put.jsonl"
end=$(date +%s.%N)
report "curl single PUT of the largest shard" "$(echo "$end - $start" | bc)" 0 - "$shard_bytes"
read -r s e a < <(measure "$BATCHLINE" prepare "$input" -o gs://bench/direct --tokens off -q)
report "prepare -o gs:// (direct)" "$s" "$e" "$a" "$bytes"
