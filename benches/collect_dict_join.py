#!/usr/bin/env python3
"""The join `batchline collect` does, written the obvious way: the baseline a user would write.

    python3 benches/collect_dict_join.py RUN PREDICTIONS_DIR OUT [INPUT ...]

1. Reads the run's shards (RUN/manifest.json `shards[].name`) into a dict: the canonical JSON of
   each shard line's request -> its join key (the `batchline_key` member).
2. Reads every prediction row (`predictions*.jsonl` in PREDICTIONS_DIR) into a dict keyed by its
   `batchline_key` (or the canonical JSON of its echoed request when the row has none). A
   success beats a failure; otherwise the first row wins.
3. Reads the input file(s) (default: the manifest's `inputs[].path`) in order and writes one
   output line per non-blank input line: `file`, `line` (1-based), `status` (succeeded, failed,
   missing or invalid), the `response` (or the `error`), then the input line's other members.

Canonical JSON here is json.dumps(sort_keys=True, separators=(",", ":")). Python 3 stdlib only.
"""

import json
import os
import sys


def canon(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_status(status):
    """`Reason: {"error": {...}}` -> the error object (or the whole string as its message)."""
    at = status.find("{")
    if at >= 0:
        try:
            error = json.loads(status[at:]).get("error")
            if isinstance(error, dict):
                return error
        except ValueError:
            pass
    return {"message": status}


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    run, pred_dir, out_path, inputs = argv[1], argv[2], argv[3], argv[4:]
    with open(os.path.join(run, "manifest.json")) as f:
        manifest = json.load(f)
    key_name = "batchline_key"
    key_opt = manifest.get("options", {}).get("key")
    if isinstance(key_opt, dict) and key_opt.get("name"):
        key_name = key_opt["name"]
    if not inputs:
        inputs = [i["path"] for i in manifest["inputs"]]

    # 1. request (canonical JSON) -> key, from the shards.
    key_of_request = {}
    for shard in manifest["shards"]:
        with open(os.path.join(run, shard["name"]), encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                obj = json.loads(line)
                key = obj.get(key_name)
                key_of_request[canon(obj["request"])] = key if key is not None else canon(obj["request"])

    # 2. prediction rows by key.
    rows = {}
    faults = 0
    for name in sorted(os.listdir(pred_dir)):
        if not (name.startswith("predictions") and name.endswith(".jsonl")):
            continue
        with open(os.path.join(pred_dir, name), encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    faults += 1
                    continue
                key = row.get(key_name)
                if key is None and "request" in row:
                    key = key_of_request.get(canon(row["request"]))
                if key is None:
                    continue
                ok = not row.get("status")
                old = rows.get(key)
                if old is None or (ok and not old[0]):
                    rows[key] = (ok, row.get("status", ""), row.get("response"))

    # 3. one output line per non-blank input line, in input order.
    counts = {"succeeded": 0, "failed": 0, "missing": 0, "invalid": 0}
    own = {"file", "line", "status", "response", "error", "text", "request"}
    with open(out_path, "w", encoding="utf-8") as out:
        for path in inputs:
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    result = {"file": path, "line": number}
                    try:
                        obj = json.loads(line)
                        request = obj["request"]
                    except (ValueError, KeyError, TypeError):
                        obj, request = None, None
                    if request is None:
                        result["status"] = "invalid"
                    else:
                        key = key_of_request.get(canon(request))
                        hit = rows.get(key) if key is not None else None
                        if hit is None:
                            result["status"] = "missing"
                        elif hit[0]:
                            result["status"] = "succeeded"
                            result["response"] = hit[2]
                        else:
                            result["status"] = "failed"
                            result["error"] = parse_status(hit[1])
                    counts[result["status"]] += 1
                    if isinstance(obj, dict):
                        for k, v in obj.items():
                            if k not in own:
                                result[k] = v
                    out.write(json.dumps(result, separators=(",", ":"), ensure_ascii=False))
                    out.write("\n")
    print(json.dumps({"lines": sum(counts.values()), **counts, "row_faults": faults}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
