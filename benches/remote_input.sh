#!/bin/sh
# A 1 GB gs:// input on the storage emulator (moto, loopback) against a plain download of the same
# object plus a local validate: the remote validate should take no longer than the two together.
#
#   sh tests/storage/setup.sh && cargo build --release && sh benches/remote_input.sh [SIZE]
#
# SIZE defaults to 1GB. Prints wall seconds and peak RSS of each command: the remote
# one at the default ranges (16 MiB x 8) and at 256 MiB x 4. Loopback only; the emulator is
# stopped at the end. Note: moto answers each ranged GET at a cost that grows with the whole
# object (a 16 MiB range of 1 GB takes ~0.9 s, the whole GET ~1.3 s), so fewer, larger ranges win
# there; real Cloud Storage serves ranges independently. So the same bytes are then served by
# benches/common/range_server.py (ranges from the file, sendfile), the baseline that shows
# batchline's own speed: download, local validate, and validate http://… at the default ranges.
set -eu
SIZE=${1:-1GB}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release/batchline}
MOTO=${MOTO:-$ROOT/target/moto-venv/bin/moto_server}
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
"$MOTO" -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null; rm -rf "$WORK"' EXIT
until curl -s -o /dev/null "$URL"; do sleep 0.2; done
export BATCHLINE_GCS_ENDPOINT=$URL BATCHLINE_ACCESS_TOKEN=test-token
export GCE_METADATA_HOST=127.0.0.1:9 GCE_METADATA_ROOT=127.0.0.1:9 GCE_METADATA_IP=127.0.0.1:9
"$BIN" gen-corpus --seed 1 --size "$SIZE" -o "$WORK/in.jsonl" >/dev/null
curl -s -X PUT "$URL/bench" >/dev/null
curl -s -X PUT -H 'x-amz-acl: public-read' -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/in.jsonl" \
    "$URL/bench/in.jsonl" >/dev/null
BYTES=$(stat -c %s "$WORK/in.jsonl")
rm "$WORK/in.jsonl"
echo "input: gs://bench/in.jsonl, $BYTES bytes, moto on $URL"
t() { /usr/bin/time -f "  %e s wall, %M KB peak RSS" "$@"; }
echo "download (curl, one GET, to $WORK):"
t curl -s -o "$WORK/in.jsonl" "$URL/bench/in.jsonl"
echo "local validate:"
t "$BIN" validate -q "$WORK/in.jsonl" >/dev/null || true
rm "$WORK/in.jsonl"
for ranges in "16MiB 8" "256MiB 4"; do
    set -- $ranges
    echo "validate gs://bench/in.jsonl (ranges of $1, $2 in flight; spill to $WORK):"
    t "$BIN" validate -q --part-size "$1" --parts-in-flight "$2" --spill-dir "$WORK" \
        gs://bench/in.jsonl >/dev/null || true
done
# The same bytes from a server that answers each range from the file (sendfile), where a ranged
# read costs only its own bytes: batchline's speed without moto's per-range cost.
mkdir -p "$WORK/srv"
curl -s -o "$WORK/srv/in.jsonl" "$URL/bench/in.jsonl"
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$ROOT/benches/common/range_server.py" "$WORK/srv" "$RPORT" &
RS_PID=$!
trap 'kill $MOTO_PID $RS_PID 2>/dev/null; rm -rf "$WORK"' EXIT
until curl -s -o /dev/null "http://127.0.0.1:$RPORT/in.jsonl" -r 0-0; do sleep 0.2; done
echo "range server on http://127.0.0.1:$RPORT: download (curl, one GET):"
t curl -s -o "$WORK/dl.jsonl" "http://127.0.0.1:$RPORT/in.jsonl"
echo "local validate:"
t "$BIN" validate -q "$WORK/dl.jsonl" >/dev/null || true
rm "$WORK/dl.jsonl"
echo "validate http://127.0.0.1:$RPORT/in.jsonl (default ranges, 16 MiB x 8):"
t "$BIN" validate -q --spill-dir "$WORK" "http://127.0.0.1:$RPORT/in.jsonl" >/dev/null || true
