#!/usr/bin/env bash
# Seeds the fuzz corpora (gitignored) from fuzz/seeds/ and testdata/: one file per line for
# validate_line, one file per fixture for read_file. Idempotent; run from anywhere.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
lines="$here/corpus/validate_line"
files="$here/corpus/read_file"
mkdir -p "$lines" "$files"
n=0
while IFS= read -r -d '' f; do
    cp "$f" "$files/$(printf '%s' "${f#"$root"/}" | tr '/' '_')"
    i=0
    while IFS= read -r line || [ -n "$line" ]; do
        i=$((i + 1))
        # Keep the corpus small: lines up to 4 KiB.
        [ "${#line}" -le 4096 ] || continue
        printf '%s' "$line" > "$lines/$(printf '%s' "${f#"$root"/}" | tr '/' '_')-$i"
        n=$((n + 1))
    done < "$f"
done < <(find "$here/seeds" "$root/testdata" -type f -name '*.jsonl' -size -64k -print0 2>/dev/null | sort -z)
# long_text: one seed per line of seeds/long_text.txt (a repeat-count byte, then the unit).
texts="$here/corpus/long_text"
mkdir -p "$texts"
i=0
while IFS= read -r line || [ -n "$line" ]; do
    i=$((i + 1))
    printf '%s' "$line" > "$texts/long_text-$i"
done < "$here/seeds/long_text.txt"
echo "seeded $i long texts into $texts"
echo "seeded $n lines into $lines and $(ls "$files" | wc -l) files into $files"
# prediction_row: one seed per prediction row of seeds/rows.jsonl.
rows="$here/corpus/prediction_row"
mkdir -p "$rows"
i=0
while IFS= read -r line || [ -n "$line" ]; do
    i=$((i + 1))
    printf '%s' "$line" > "$rows/row-$i"
done < "$here/seeds/rows.jsonl"
echo "seeded $i prediction rows into $rows"
# member_scan: the prediction rows and the request lines (objects of every shape collect scans).
scan="$here/corpus/member_scan"
mkdir -p "$scan"
cp "$rows"/row-* "$scan"/
cp "$lines"/* "$scan"/
echo "seeded $(ls "$scan" | wc -l) objects into $scan"
