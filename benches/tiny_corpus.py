#!/usr/bin/env python3
"""A seeded corpus of tiny requests (~210-byte lines), the per-line worst case for prepare.

The two generated shapes of `batchline gen-corpus` have 1.5 KB and 10 KB lines. Classification and
extraction jobs often send far shorter prompts; there the cost per line (parse setup, records,
index entries, plan entries) outweighs the cost per byte, for time and for memory. This script
writes such a corpus so that the figures in docs/BENCHMARKS.md ("tiny lines") can be re-measured:
one user turn of 5-30 words, 30% of lines with one of three short system instructions, the rest
with `generationConfig.temperature = 0`; practically no duplicates.

    python3 benches/tiny_corpus.py --size 500MB -o /tmp/batchline-bench/tiny-500MB.jsonl

The same seed and size give the same bytes (Python's `random` with a fixed seed). The file is
written to a temporary name and renamed.
"""

import argparse
import os
import random


def parse_size(text):
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9}
    text = text.strip().lower()
    digits = text.rstrip("kmgb")
    return int(float(digits) * units[text[len(digits):]])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="500MB", help="target size, e.g. 500MB (default)")
    p.add_argument("--seed", type=int, default=7, help="seed (default 7)")
    p.add_argument("-o", "--output", required=True, help="output file")
    args = p.parse_args()
    target = parse_size(args.size)
    rng = random.Random(args.seed)
    words = "the of and to in is was for on that with as by at from this be are or an have not which one had".split()
    words += ["w%d" % i for i in range(3000)]
    systems = ["You are a classifier.", "Answer in one word.", "Label the tweet."]
    temp = args.output + ".tmp"
    lines = size = 0
    with open(temp, "w", encoding="utf-8") as out:
        while size < target:
            text = " ".join(rng.choice(words) for _ in range(rng.randint(5, 30)))
            if rng.random() < 0.3:
                line = (
                    '{"request":{"systemInstruction":{"parts":[{"text":"%s"}]},'
                    '"contents":[{"role":"user","parts":[{"text":"%s"}]}]}}\n' % (rng.choice(systems), text)
                )
            else:
                line = (
                    '{"request":{"contents":[{"role":"user","parts":[{"text":"Classify: %s"}]}],'
                    '"generationConfig":{"temperature":0}}}\n' % text
                )
            out.write(line)
            size += len(line)
            lines += 1
    os.replace(temp, args.output)
    print(f"wrote {args.output}: {lines} lines, {size} bytes")


if __name__ == "__main__":
    main()
