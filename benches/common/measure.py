"""The measuring wrapper of the whole-program benchmarks (benches/throughput.sh, benches/collect.sh).

python3 benches/common/measure.py CMD ARGS...

Runs `/usr/bin/time -f '%e s %M KB' CMD ARGS...` with stdout discarded, polls the command (time's
child) every 10 ms for RssAnon and VmHWM, and prints one line:
wall_s exit rss_kb anon_kb hwm_kb time:<GNU time's seconds>s
"""
import os, subprocess, sys, tempfile, time

def status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("RssAnon", "VmHWM"):
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return out

def child_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except (FileNotFoundError, ProcessLookupError):
        return None

cmd = sys.argv[1:]
with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
    start = time.monotonic()
    proc = subprocess.Popen(
        ["/usr/bin/time", "-f", "%e s %M KB", "-o", tf.name, *cmd], stdout=subprocess.DEVNULL
    )
    target, anon, hwm = None, 0, 0
    while proc.poll() is None:
        if target is None:
            target = child_of(proc.pid)
        if target is not None:
            s = status(target)
            anon = max(anon, s.get("RssAnon", 0))
            hwm = max(hwm, s.get("VmHWM", 0))
        time.sleep(0.01)
    wall = time.monotonic() - start
    timed = tf.read().strip().splitlines()
# GNU time writes "Command exited with non-zero status N" before its format line.
fields = timed[-1].split() if timed else ["nan", "s", "0", "KB"]
rss = int(fields[2]) if len(fields) >= 3 and fields[2].isdigit() else 0
print(f"{wall:.3f} {proc.returncode} {rss} {anon or 'NA'} {hwm or 'NA'} time:{fields[0]}s")
