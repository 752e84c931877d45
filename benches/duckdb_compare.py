#!/usr/bin/env python3
"""batchline prepare (tokens off) against DuckDB doing the same job's core in SQL, to check the
budget that prepare be at least 7x faster than DuckDB on the same file (docs/BENCHMARKS.md).

DuckDB reads the JSONL, keeps the distinct `request` values, sorts them and writes them out:

    COPY (SELECT DISTINCT request
          FROM read_json(FILE, format = 'newline_delimited', columns = {'request': 'JSON'},
                         maximum_object_size = …)
          ORDER BY request)
    TO OUT (FORMAT JSON)

`request` is read as DuckDB's JSON type, i.e. JSON text, so DISTINCT compares the (minified)
text and ORDER BY sorts by it: a stand-in for prefix order. This is less work than batchline does
(no validation, no canonical dedup across key order and escapes, no prompt keys, priming, cache
simulation, shard cut, index or manifest), so the ratio flatters DuckDB.

Both run on the same file in the same invocation, page cache warm, alternating (batchline,
DuckDB, batchline, …) so that machine noise hits both alike. batchline is timed as a whole
process (`batchline prepare FILE -o RUN`, RUN removed and `sync` before each run, untimed; DuckDB's
output is removed and synced the same way); DuckDB is timed
in-process from connect to the end of COPY (the Python interpreter and the `import duckdb` are
not counted, again in DuckDB's favour). Both use all cores unless --threads is given.

Setup (once):
    python3 -m venv /tmp/venv-duck && /tmp/venv-duck/bin/pip install duckdb
Run:
    /tmp/venv-duck/bin/python benches/duckdb_compare.py                 # 1 GB, both shapes, 3 runs
    /tmp/venv-duck/bin/python benches/duckdb_compare.py --size 100MB --runs 1

Corpora are shared with benches/throughput.sh: $BENCH_DIR/{shape}-{size}.jsonl (generated with
`batchline gen-corpus` and the same seeds when missing).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = {"short": 1, "long": 2}  # the same as benches/throughput.sh and the criterion benches


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default=os.environ.get("SIZE", "1GB"), help="corpus size (default 1GB)")
    p.add_argument(
        "--shapes",
        nargs="+",
        default=os.environ.get("SHAPES", "short long").split(),
        choices=sorted(SEEDS),
        help="corpus shapes (default: short long)",
    )
    p.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", "3")), help="runs of each (default 3)")
    p.add_argument(
        "--threads",
        type=int,
        default=int(os.environ["THREADS"]) if os.environ.get("THREADS") else None,
        help="threads for both (batchline -j, DuckDB SET threads); default all cores",
    )
    p.add_argument(
        "--bench-dir",
        type=Path,
        default=Path(os.environ.get("BENCH_DIR", "/tmp/batchline-bench")),
        help="corpora and outputs (default $BENCH_DIR or /tmp/batchline-bench)",
    )
    p.add_argument(
        "--batchline",
        default=os.environ.get("BATCHLINE"),
        help="batchline binary (default $BATCHLINE, else build the release binary with cargo)",
    )
    return p.parse_args()


def batchline_binary(given):
    if given:
        return given
    print("building release binary...", file=sys.stderr)
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--bin", "batchline", "--manifest-path", str(ROOT / "Cargo.toml")],
        check=True,
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "release" / "batchline")


def corpus(bin_, bench_dir, shape, size):
    path = bench_dir / f"{shape}-{size}.jsonl"
    if not path.exists() or path.stat().st_size == 0:
        print(f"generating {path} (seed {SEEDS[shape]})...", file=sys.stderr)
        subprocess.run(
            [bin_, "gen-corpus", "--seed", str(SEEDS[shape]), "--shape", shape, "--size", size, "-o", str(path)],
            check=True,
        )
    return path


def warm(path):
    """Reads the file once (page cache warm) and returns its longest line in bytes."""
    longest = 0
    with open(path, "rb") as f:
        for line in f:
            longest = max(longest, len(line))
    return longest


def rewarm(path):
    """Reads the file in 16 MiB blocks, so it is in the page cache again."""
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass


def prepare_argv(bin_, path, run, threads):
    argv = [bin_, "prepare", str(path), "-o", str(run)]
    # `--tokens off` is what is compared; before that flag exists, plain prepare is tokens-off.
    help_text = subprocess.run([bin_, "prepare", "--help"], capture_output=True, text=True).stdout
    if "--tokens" in help_text:
        argv += ["--tokens", "off"]
    if threads:
        argv += ["-j", str(threads)]
    return argv


def time_batchline(argv, run):
    shutil.rmtree(run, ignore_errors=True)
    os.sync()  # the other tool's output is not flushed on our time (untimed, for both tools)
    start = time.monotonic()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - start
    if done.returncode not in (0, 1):  # 1 = some input lines invalid (still prepared)
        sys.exit(f"batchline failed ({done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}")
    return wall


def unique_of_run(run):
    try:
        with open(run / "manifest.json") as f:
            return json.load(f).get("counts", {}).get("unique")
    except (OSError, ValueError):
        return None


def time_duckdb(duckdb, path, out, max_object, threads):
    if out.exists():
        out.unlink()
    os.sync()
    query = f"""
        COPY (
            SELECT DISTINCT request
            FROM read_json('{path}', format = 'newline_delimited', columns = {{'request': 'JSON'}},
                           maximum_object_size = {max_object})
            ORDER BY request
        ) TO '{out}' (FORMAT JSON)
    """
    start = time.monotonic()
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    rows = con.execute(query).fetchone()[0]
    con.close()
    return time.monotonic() - start, rows


def main():
    args = parse_args()
    try:
        import duckdb
    except ImportError:
        sys.exit(
            "duckdb is not installed for this Python: python3 -m venv /tmp/venv-duck && "
            "/tmp/venv-duck/bin/pip install duckdb, then run with /tmp/venv-duck/bin/python"
        )
    args.bench_dir.mkdir(parents=True, exist_ok=True)
    bin_ = batchline_binary(args.batchline)
    version = subprocess.run([bin_, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    results = []
    for shape in args.shapes:
        path = corpus(bin_, args.bench_dir, shape, args.size)
        size = path.stat().st_size
        longest = warm(path)
        # DuckDB refuses objects above maximum_object_size (default 16 MiB): allow the longest
        # line with room to spare.
        max_object = max(16 << 20, 1 << (2 * longest).bit_length())
        run = args.bench_dir / f"duck-run-{shape}"
        out = args.bench_dir / f"duck-out-{shape}.jsonl"
        argv = prepare_argv(bin_, path, run, args.threads)
        ours, theirs, duck_rows = [], [], None
        for i in range(args.runs):
            # Re-warm before each timed run (untimed): DuckDB's memory use can push the input
            # out of the page cache, and both tools are to start from a warm file.
            rewarm(path)
            ours.append(time_batchline(argv, run))
            rewarm(path)
            wall, duck_rows = time_duckdb(duckdb, path, out, max_object, args.threads)
            theirs.append(wall)
            print(f"{shape} run {i + 1}: batchline {ours[-1]:.3f} s, duckdb {theirs[-1]:.3f} s", file=sys.stderr)
        unique = unique_of_run(run)
        shutil.rmtree(run, ignore_errors=True)
        out.unlink(missing_ok=True)
        results.append((shape, size, ours, theirs, unique, duck_rows))

    threads = args.threads or os.cpu_count()
    print()
    print(f"{version} vs DuckDB {duckdb.__version__}, {threads} threads, page cache warm, {args.runs} run(s) each")
    print(f"batchline: batchline prepare FILE -o RUN {' '.join(argv[5:])}".rstrip())
    print("duckdb:    COPY (SELECT DISTINCT request … ORDER BY request) TO … (FORMAT JSON)")
    header = ("shape", "size_MB", "ours_best", "ours_med", "duck_best", "duck_med", "x_best", "x_med", "GB/s_ours", "unique_ours", "distinct_duck")
    print("{:<6} {:>8} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>9} {:>11} {:>13}".format(*header))
    for shape, size, ours, theirs, unique, duck_rows in results:
        ob, om = min(ours), statistics.median(ours)
        db, dm = min(theirs), statistics.median(theirs)
        print(
            f"{shape:<6} {size / 1e6:>8.0f} {ob:>9.3f} {om:>9.3f} {db:>9.3f} {dm:>9.3f} "
            f"{db / ob:>7.1f} {dm / om:>7.1f} {size / 1e9 / ob:>9.2f} {unique if unique is not None else '?':>11} {duck_rows:>13}"
        )
    print()
    print("x = DuckDB time / batchline time (target: >= 7). Wall seconds. DuckDB's DISTINCT is on the")
    print("minified JSON text, so re-serialised duplicates (other key order, escapes) stay distinct there.")


if __name__ == "__main__":
    main()
