#!/usr/bin/env bash
# Rows per second `batchline emulator` processes and exports (import checks, cache model,
# synthetic responses, incremental files and predictions.jsonl), with the cache model on.
# usage: tests/vertex/emulator_throughput.sh [SIZE] [SHAPE]   (default 100MB short; release build)
# Needs: a release build (cargo build --release), curl, python3. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${1:-100MB}
shape=${2:-short}
bin=${BATCHLINE_BIN:-target/release/batchline}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
export GCE_METADATA_HOST=127.0.0.1:9 GCE_METADATA_ROOT=127.0.0.1:9 GCE_METADATA_IP=127.0.0.1:9
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/gcs/bkt"
"$bin" gen-corpus --seed 1 --shape "$shape" --size "$size" -o "$work/gcs/bkt/in.jsonl"
rows=$(wc -l < "$work/gcs/bkt/in.jsonl")
"$bin" emulator --port 0 --storage-root "$work/gcs" > "$work/url" &
pid=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.05; done
url=$(head -1 "$work/url")
base="$url/v1/projects/p/locations/us-central1/batchPredictionJobs"
start=$(date +%s.%N)
name=$(curl -sf -X POST "$base" -H 'content-type: application/json' -d '{"displayName": "bench", "model": "publishers/google/models/gemini-2.5-flash", "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": ["gs://bkt/in.jsonl"]}}, "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": "gs://bkt/out"}}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
while :; do
  job=$(curl -sf "$url/v1/$name")
  state=$(printf '%s' "$job" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
  case $state in JOB_STATE_SUCCEEDED|JOB_STATE_FAILED|JOB_STATE_CANCELLED|JOB_STATE_EXPIRED) break;; esac
  sleep 0.02
done
end=$(date +%s.%N)
printf '%s' "$job" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["state"], j.get("completionStats"), j.get("error"))'
out=$(find "$work/gcs/bkt/out" -name predictions.jsonl)
cached=$(python3 -c 'import json,sys
c=p=0
for l in open(sys.argv[1]):
    u=json.loads(l)["response"].get("usageMetadata",{})
    c+=u.get("cachedContentTokenCount",0); p+=u.get("promptTokenCount",0)
print(f"cached {c} of {p} prompt tokens ({100*c/max(p,1):.1f} %)")' "$out")
python3 -c "import sys; r=int(sys.argv[1]); s=float(sys.argv[3])-float(sys.argv[2]); print(f'{r} rows ({sys.argv[4]} {sys.argv[5]}) in {s:.2f} s: {r/s:,.0f} rows/s, create to SUCCEEDED, rows written twice (incremental + predictions.jsonl)')" "$rows" "$start" "$end" "$size" "$shape"
echo "$cached"
# CPU time of the emulator process (user + system), for a machine shared with other work.
python3 -c "import os,sys; f=open(f'/proc/{sys.argv[1]}/stat').read().rsplit(')',1)[1].split(); t=(int(f[11])+int(f[12]))/os.sysconf('SC_CLK_TCK'); r=int(sys.argv[2]); print(f'emulator CPU {t:.2f} s: {r/max(t,1e-9):,.0f} rows per CPU second')" "$pid" "$rows"
