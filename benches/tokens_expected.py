#!/usr/bin/env python3
"""Writes testdata/tokens/expected_gemma3.json: the reference Gemma 3 token counts of
testdata/tokens/sample.jsonl, from Google's own SentencePiece (PyPI `sentencepiece`).

Run once when the sample changes (the output is committed; tests/it/tokens.rs compares
batchline's pure-Rust counts with it):

    python3 -m venv /tmp/venv-sp && /tmp/venv-sp/bin/pip install sentencepiece
    sh benches/fetch_tokenizer.sh            # puts the model into the cache folder
    /tmp/venv-sp/bin/python benches/tokens_expected.py [MODEL] [SAMPLE] [OUT]

MODEL defaults to the cache folder's gemma3_cleaned_262144_v2.spiece.model (same rules as
batchline: $BATCHLINE_CACHE_DIR, else $XDG_CACHE_HOME/batchline, else ~/.cache/batchline).
Counts are `len(sp.encode(text))`: no BOS/EOS, as Google's python-genai local tokenizer counts.
"""
import hashlib
import json
import os
import sys

import sentencepiece as spm

MODEL_FILE = "gemma3_cleaned_262144_v2.spiece.model"
MODEL_SHA256 = "1299c11d7cf632ef3b4e11937501358ada021bbdf7c47638d13c0ee982f2e79c"


def cache_dir():
    if os.environ.get("BATCHLINE_CACHE_DIR"):
        return os.environ["BATCHLINE_CACHE_DIR"]
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "batchline")
    return os.path.join(os.path.expanduser("~"), ".cache", "batchline")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(cache_dir(), MODEL_FILE)
    sample = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "testdata/tokens/sample.jsonl")
    out = sys.argv[3] if len(sys.argv) > 3 else os.path.join(root, "testdata/tokens/expected_gemma3.json")
    data = open(model, "rb").read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        sys.exit(f"{model}: sha256 {digest} is not {MODEL_SHA256}")
    sp = spm.SentencePieceProcessor(model_proto=data)
    counts = []
    with open(sample, encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            counts.append({"id": item["id"], "tokens": len(sp.encode(item["text"]))})
    result = {
        "tokenizer": MODEL_FILE,
        "model_sha256": MODEL_SHA256,
        "generator": f"python sentencepiece {spm.__version__}, len(sp.encode(text)), no BOS/EOS",
        "counts": counts,
    }
    with open(out, "w", encoding="utf-8") as f:
        # One count per line, so that a change shows as a readable diff.
        head = json.dumps({k: v for k, v in result.items() if k != "counts"}, indent=1)
        f.write(head[:-2] + ',\n "counts": [\n')
        f.write(",\n".join("  " + json.dumps(c) for c in counts))
        f.write("\n ]\n}\n")
    print(f"{out}: {len(counts)} counts, {sum(c['tokens'] for c in counts)} tokens")


if __name__ == "__main__":
    main()
