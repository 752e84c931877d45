#!/usr/bin/env python3
"""Writes testdata/tokens/gemma3_pieces.json: Google's SentencePiece token count of every
vocabulary piece encoded as text on its own, kept small enough to commit: the sha256 of the whole
table, and only the pieces whose count is not 1. tests/it/tokens.rs encodes every piece with
batchline and compares both.

Also checks the two vocabulary facts batchline's Gemma 3 counter relies on, and fails if either
stops holding:
- the sentinel U+2042 (put before each text, see src/plan/tokens/gemma.rs) is a piece of its
  own and occurs in no other piece;
- the character pairs that occur inside some piece (written as `pairs_sha256` and `pairs`, the
  count): batchline only cuts long text between two characters that never occur next to each
  other inside a piece (src/plan/tokens/memo.rs).

Run once per vocabulary (the output is committed):

    pip install sentencepiece protobuf
    sh benches/fetch_tokenizer.sh
    python3 benches/gemma3_pieces.py [MODEL] [OUT]

"Every piece" is every NORMAL and USER_DEFINED piece (the ones text can produce), `▁` written
as a space. Table lines, hashed in id order: `{id}\\t{count}\\n`.
"""
import hashlib
import json
import os
import sys

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as model_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokens_expected import MODEL_FILE, MODEL_SHA256, cache_dir  # noqa: E402

SENTINEL = "\u2042"
NORMAL, USER_DEFINED = 1, 4


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(cache_dir(), MODEL_FILE)
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "testdata/tokens/gemma3_pieces.json")
    data = open(model, "rb").read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        sys.exit(f"{model}: sha256 {digest} is not {MODEL_SHA256}")
    proto = model_pb2.ModelProto()
    proto.ParseFromString(data)
    sp = spm.SentencePieceProcessor(model_proto=data)
    table = hashlib.sha256()
    not_one = []
    pairs = set()
    sentinel_ids = []
    count = 0
    for i, p in enumerate(proto.pieces):
        if p.type not in (NORMAL, USER_DEFINED):
            continue
        text = p.piece.replace("\u2581", " ")
        n = len(sp.encode(text))
        table.update(f"{i}\t{n}\n".encode())
        count += 1
        if n != 1:
            not_one.append({"id": i, "text": text, "tokens": n})
        if text == SENTINEL:
            sentinel_ids.append(i)
        elif SENTINEL in text:
            sys.exit(f"the sentinel occurs in piece {i} {text!r}")
        pairs.update(a + b for a, b in zip(text, text[1:]))
    if len(sentinel_ids) != 1:
        sys.exit(f"the sentinel is not one piece: {sentinel_ids}")
    pair_hash = hashlib.sha256("".join(sorted(pairs)).encode()).hexdigest()
    result = {
        "model_sha256": digest,
        "sentencepiece_version": spm.__version__,
        "pieces": count,
        "table_sha256": table.hexdigest(),
        "sentinel_id": sentinel_ids[0],
        "pairs": len(pairs),
        "pairs_sha256": pair_hash,
        "not_one": not_one,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{out}: {count} pieces, {len(not_one)} not one token, {len(pairs)} pairs")


if __name__ == "__main__":
    main()
