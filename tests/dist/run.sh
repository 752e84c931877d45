#!/usr/bin/env bash
# The Python-facing distribution, end to end (called by .ci/run; needs Rust, Python 3 with pip
# and venv, git; maturin and pre-commit come from PyPI, pinned below):
#   1. the bundled sample is what testdata/sample/generate.py writes;
#   2. the wheel (pyproject.toml, maturin `bindings = "bin"`) builds, installs into a fresh
#      virtualenv, and the `batchline` of that environment prints Cargo.toml's version and
#      validates the bundled sample with the exact findings; `uvx` runs the same from the wheel;
#   3. the pre-commit hook (.pre-commit-hooks.yaml) installs from this checkout and passes a good
#      file, fails a bad one, and leaves other files alone, in a temporary git repository.
# The wheel is built with the dev profile: `cargo test` has already compiled every dependency
# for it, so the build only compiles and links the crate (the release profile's fat LTO would
# rebuild everything, ~3 min and more). The hook's own `pip install` builds the same way
# (MATURIN_PEP517_ARGS) into this checkout's target/, and finds maturin in a local wheelhouse
# (no package index while pre-commit runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

MATURIN_VERSION=1.16.0
PRE_COMMIT_VERSION=4.7.0
UV_VERSION=0.13.9

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
say() { echo "-- $* ($(($(date +%s) - start))s)"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
for tool in python3 git cargo; do
  command -v "$tool" >/dev/null || fail "$tool is needed"
done
# Outputs compared below carry no colour and no host paths.
export NO_COLOR=1
export GCE_METADATA_HOST=127.0.0.1:9 GCE_METADATA_ROOT=127.0.0.1:9 GCE_METADATA_IP=127.0.0.1:9

say "1. testdata/sample/requests.jsonl is what generate.py writes"
python3 testdata/sample/generate.py | cmp - testdata/sample/requests.jsonl ||
  fail "the bundled sample differs from 'python3 testdata/sample/generate.py'"

say "tools: maturin $MATURIN_VERSION, pre-commit $PRE_COMMIT_VERSION and uv $UV_VERSION from PyPI"
python3 -m venv "$work/tools" || fail "python3 -m venv (the venv module) is needed"
pip_q=(-q --disable-pip-version-check)
"$work/tools/bin/pip" install "${pip_q[@]}" "maturin==$MATURIN_VERSION" "pre-commit==$PRE_COMMIT_VERSION" "uv==$UV_VERSION"
"$work/tools/bin/pip" download "${pip_q[@]}" "maturin==$MATURIN_VERSION" -d "$work/wheelhouse"

say "2. the wheel: build (dev profile), install into a fresh virtualenv"
"$work/tools/bin/maturin" build --profile dev --strip --out "$work/wheels" >"$work/maturin.log" 2>&1 ||
  { cat "$work/maturin.log"; fail "maturin build"; }
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
wheels=("$work"/wheels/batchline-"$version"-*.whl)
[ -f "${wheels[0]}" ] || fail "no batchline-$version wheel in: $(ls "$work/wheels")"
echo "built $(basename "${wheels[0]}") ($(du -k "${wheels[0]}" | cut -f1) KB)"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install "${pip_q[@]}" --no-index "${wheels[0]}"
# The environment's own batchline, found on its PATH as a user would.
found=$(PATH="$work/venv/bin:$PATH" command -v batchline)
[ "$found" = "$work/venv/bin/batchline" ] || fail "batchline resolves to $found"
got=$(PATH="$work/venv/bin:$PATH" batchline --version)
case "$got" in
"batchline $version (Vertex AI v1 schema revision "*) ;;
*) fail "batchline --version printed: $got" ;;
esac
mkdir -p "$work/user/testdata/sample"
cp testdata/sample/requests.jsonl "$work/user/testdata/sample/"
set +e
(cd "$work/user" && PATH="$work/venv/bin:$PATH" batchline validate testdata/sample/requests.jsonl) >"$work/validate.out" 2>&1
code=$?
set -e
cat >"$work/validate.want" <<'WANT'
testdata/sample/requests.jsonl:124:67: error[E_UNKNOWN_FIELD] at /request/contents/0/parts/0/txt: unknown field `txt` in Part; did you mean `text`?
testdata/sample/requests.jsonl:307:12370: warning[W_DEPRECATED_FIELD] at /request/generationConfig/responseMimeType: `/request/generationConfig/responseMimeType` is marked deprecated in Google's schema; Vertex still accepts it, but plan to move to its replacement (generationConfig.responseFormat) (9 occurrences in this file)
testdata/sample/requests.jsonl: invalid lines — 444 lines, 444 requests, 443 valid, 1 invalid, 0 blank; 1 errors (0 whole-job), 1 warnings
  by code: E_UNKNOWN_FIELD 1, W_DEPRECATED_FIELD 1
  top-level members beside `request` (Vertex copies them to the output): id (444)
WANT
[ "$code" = 1 ] || fail "validate on the sample exited $code, not 1"
diff -u "$work/validate.want" "$work/validate.out" || fail "validate on the sample printed other findings"
# uvx runs it without installing (offline: from the wheel, into uv's own cache under $work).
got_uvx=$(cd "$work/user" && UV_CACHE_DIR="$work/uv-cache" "$work/tools/bin/uvx" --offline --from "${wheels[0]}" batchline --version)
[ "$got_uvx" = "$got" ] || fail "uvx batchline --version printed: $got_uvx"
set +e
(cd "$work/user" && UV_CACHE_DIR="$work/uv-cache" "$work/tools/bin/uvx" --offline --from "${wheels[0]}" batchline validate testdata/sample/requests.jsonl) >"$work/uvx.out" 2>&1
code=$?
set -e
[ "$code" = 1 ] || { cat "$work/uvx.out"; fail "uvx batchline validate exited $code, not 1"; }
diff -u "$work/validate.want" "$work/uvx.out" || fail "uvx batchline validate printed other findings"
echo "wheel ok (pip and uvx): $got"

say "3. pre-commit: the batchline-validate hook in a temporary git repository"
repo="$work/repo"
mkdir -p "$repo/data"
cd "$repo"
git init -q .
printf '%s\n' '{"request":{"contents":[{"role":"user","parts":[{"text":"Summarise: the modem keeps dropping."}]}]}}' >data/good.jsonl
printf '%s\n' '{"request":{"contents":[{"role":"user","parts":[{"txt":"Summarise: the modem keeps dropping."}]}]}}' >data/bad.jsonl
# Not JSONL: the hook must not look at it.
printf 'not json\n' >notes.txt
git add -A
export PRE_COMMIT_HOME="$work/pre-commit-home" PIP_NO_INDEX=1 PIP_FIND_LINKS="$work/wheelhouse"
export MATURIN_PEP517_ARGS="--profile dev" CARGO_TARGET_DIR="$root/target"
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@localhost GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@localhost
try() { "$work/tools/bin/pre-commit" try-repo "$root" batchline-validate --color never "$@"; }
set +e
try --files data/good.jsonl notes.txt >"$work/good.out" 2>&1
good=$?
try --all-files >"$work/all.out" 2>&1
all=$?
set -e
[ "$good" = 0 ] || { cat "$work/good.out"; fail "the hook failed on a good file (exit $good)"; }
grep -q '^batchline validate\.*Passed$' "$work/good.out" || { cat "$work/good.out"; fail "no Passed line"; }
[ "$all" = 1 ] || { cat "$work/all.out"; fail "the hook passed a bad file (exit $all)"; }
grep -q '^batchline validate\.*Failed$' "$work/all.out" || { cat "$work/all.out"; fail "no Failed line"; }
grep -qxF 'data/bad.jsonl:1:50: error[E_UNKNOWN_FIELD] at /request/contents/0/parts/0/txt: unknown field `txt` in Part; did you mean `text`?' "$work/all.out" ||
  { cat "$work/all.out"; fail "the hook did not print the finding"; }
if grep -q 'notes.txt\|good.jsonl:[0-9]' "$work/all.out"; then
  cat "$work/all.out"
  fail "the hook reported a file it should pass or skip"
fi
say "pre-commit hook ok"
