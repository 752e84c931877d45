#!/usr/bin/env bash
# The whole loop on loopback: `batchline run` (prepare → submit → wait → collect) on a generated
# corpus, with moto as Cloud Storage and `batchline emulator` as Vertex (reading and writing
# through moto). Prints the wall time of the loop, its steps as `run` reports them, and the
# emulator's CPU seconds.
#   tests/storage/setup.sh && cargo build --release && benches/loop.sh [SIZE] [SHAPE]
# Defaults: 100MB short. Loopback only; the servers are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-100MB}
SHAPE=${2:-short}
BIN=${BIN:-target/release/batchline}
MOTO=${MOTO:-target/moto-venv/bin/moto_server}
WORK=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export GCE_METADATA_HOST=127.0.0.1:9 GCE_METADATA_ROOT=127.0.0.1:9 GCE_METADATA_IP=127.0.0.1:9
export AWS_METADATA_ENDPOINT=http://127.0.0.1:9 BATCHLINE_ACCESS_TOKEN=test-token
MPORT=$(free_port)
"$MOTO" -H 127.0.0.1 -p "$MPORT" >/dev/null 2>&1 &
MOTO_PID=$!
EMU_PID=
trap 'kill $MOTO_PID $EMU_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
export BATCHLINE_GCS_ENDPOINT=http://127.0.0.1:$MPORT
until curl -s -o /dev/null "$BATCHLINE_GCS_ENDPOINT"; do sleep 0.2; done
curl -s -X PUT "$BATCHLINE_GCS_ENDPOINT/runs" >/dev/null
"$BIN" emulator --port 0 --gcs-endpoint "$BATCHLINE_GCS_ENDPOINT" --access-token test-token > "$WORK/emu-url" 2>"$WORK/emu.log" &
EMU_PID=$!
for _ in $(seq 1200); do [ -s "$WORK/emu-url" ] && break; sleep 0.05; done
EMU_URL=$(head -1 "$WORK/emu-url")
# Never fall back to Google's endpoint: no emulator, no loop.
case $EMU_URL in http://127.0.0.1:*) ;; *) echo "the emulator did not start: $(cat "$WORK/emu.log")" >&2; exit 1;; esac
export BATCHLINE_VERTEX_ENDPOINT=$EMU_URL
"$BIN" gen-corpus --seed 1 --shape "$SHAPE" --size "$SIZE" -o "$WORK/in.jsonl" >/dev/null
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $SIZE $SHAPE; moto $BATCHLINE_GCS_ENDPOINT; emulator $BATCHLINE_VERTEX_ENDPOINT"
start=$(date +%s.%N)
"$BIN" run "$WORK/in.jsonl" --to gs://runs/loop --project p --location us-central1 \
    --vertex-endpoint "$EMU_URL" -O "$WORK/results.jsonl" --poll-interval 200ms \
    --max-poll-interval 1s -q
end=$(date +%s.%N)
emu_cpu=$(awk '{printf "%.2f", ($14+$15)/100}' /proc/$EMU_PID/stat)
lines=$(wc -l < "$WORK/results.jsonl")
python3 - "$start" "$end" "$lines" "$emu_cpu" <<'PY'
import sys
start, end, lines, cpu = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(f"whole loop: {end - start:.2f} s wall for {lines} result lines ({lines / (end - start):,.0f} lines/s); emulator CPU {cpu} s")
PY
