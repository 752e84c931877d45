#!/usr/bin/env bash
# Measured against predicted implicit-cache share, per order, on the emulator's cache model.
#
#   benches/cache_orders.sh                      # 20MB short corpus, seed 1
#   SIZE=50MB SEED=3 SHAPE=long benches/cache_orders.sh
#
# Starts moto (the storage emulator, target/moto-venv; tests/storage/setup.sh installs it) and
# `batchline emulator` over it on 127.0.0.1, generates one corpus, takes `stats`' predicted cached
# share for each order, then for each order runs `batchline run` (prepare → submit → wait →
# collect, no retry rounds) into its own run and reads the measured share from collect's report
# (cachedContentTokenCount / promptTokenCount over the succeeded rows). Nothing leaves the machine.
#
# Environment: SIZE (20MB), SEED (1), SHAPE (short), BATCHLINE (binary; default: release build),
# BENCH_DIR (default: target/bench-cache), EMULATOR_FLAGS (extra emulator flags, e.g. the cache
# model's --cache-workers 64 --cache-ttl 5).
set -euo pipefail
cd "$(dirname "$0")/.."
export GCE_METADATA_HOST=127.0.0.1:9 GCE_METADATA_ROOT=127.0.0.1:9 GCE_METADATA_IP=127.0.0.1:9
export AWS_METADATA_ENDPOINT=http://127.0.0.1:9
SIZE=${SIZE:-20MB} SEED=${SEED:-1} SHAPE=${SHAPE:-short}
BENCH_DIR=${BENCH_DIR:-target/bench-cache}
if [ -z "${BATCHLINE:-}" ]; then
  cargo build --release -q
  BATCHLINE=target/release/batchline
fi
bash tests/storage/setup.sh >/dev/null
mkdir -p "$BENCH_DIR"
corpus="$BENCH_DIR/corpus-$SHAPE-$SEED-$SIZE.jsonl"
[ -f "$corpus" ] || "$BATCHLINE" gen-corpus --seed "$SEED" --shape "$SHAPE" --size "$SIZE" -o "$corpus"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/moto-venv/bin/moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
emu_out="$BENCH_DIR/emulator.url"
cleanup() { kill "$moto" ${emu:+"$emu"} 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port" >/dev/null && break; sleep 0.1; done
bucket="bench$RANDOM"
curl -s -X PUT "http://127.0.0.1:$port/$bucket" >/dev/null
export BATCHLINE_GCS_ENDPOINT="http://127.0.0.1:$port" BATCHLINE_ACCESS_TOKEN=test-token
# shellcheck disable=SC2086
"$BATCHLINE" emulator --port 0 --gcs-endpoint "$BATCHLINE_GCS_ENDPOINT" --access-token test-token \
  ${EMULATOR_FLAGS:-} >"$emu_out" 2>"$BENCH_DIR/emulator.log" &
emu=$!
for _ in $(seq 100); do [ -s "$emu_out" ] && break; sleep 0.1; done
url=$(head -1 "$emu_out")

predicted=$("$BATCHLINE" stats "$corpus" --format json --quiet | python3 -c '
import json, sys
for line in sys.stdin:
    v = json.loads(line)
    if "simulation" in v:
        print(" ".join(s["order"] + "=" + str(s["cached_share"]) for s in v["simulation"]))
')
echo "corpus: $corpus ($SIZE, seed $SEED, shape $SHAPE); emulator $url ${EMULATOR_FLAGS:-}"
printf '%-8s %10s %10s %12s %12s %8s\n' order predicted measured prompt cached seconds
for order in input prefix primed; do
  t0=$(date +%s.%N)
  "$BATCHLINE" run "$corpus" --to "gs://$bucket/$order" --order "$order" --project bench \
    --location us-central1 --vertex-endpoint "$url" --poll-interval 200ms --max-poll-interval 1s \
    --retry-rounds 0 --quiet >/dev/null 2>"$BENCH_DIR/run-$order.log" || [ $? -eq 1 ]
  t1=$(date +%s.%N)
  report=$(curl -s -H 'Authorization: Bearer test-token' \
    "$BATCHLINE_GCS_ENDPOINT/$bucket/$order/collect-report.json")
  python3 - "$order" "$predicted" "$report" "$t0" "$t1" <<'PY'
import json, sys
order, predicted, report, t0, t1 = sys.argv[1:]
pred = dict(p.split("=") for p in predicted.split())
r = json.loads(report)
print(f"{order:<8} {float(pred[order]):>10.4f} {r['cache']['measured_share']:>10.4f} "
      f"{r['tokens']['prompt']:>12} {r['tokens']['cached']:>12} {float(t1) - float(t0):>8.1f}")
PY
done
