#!/usr/bin/env python3
"""Google's Vertex AI discovery document -> JSON Schema (draft 2020-12) for one batch input line.

    python3 benches/jsonschema_compare/convert.py aiplatform.v1.json OUT.json

The schema says what batchline's schema walk says about a line (src/request/walk), as far as JSON
Schema can say it, so that benches/jsonschema_compare.sh compares two validators of one language:

* The line is an object with a required member `request`, a GoogleCloudAiplatformV1GenerateContentRequest;
  other top-level members are allowed (user data).
* Each discovery schema is a `$defs` entry; `$ref: Name` becomes `#/$defs/Name`.
* A message is an object whose unknown members are errors unless they are null (protobuf JSON reads
  a null as unset; batchline only warns), i.e. `additionalProperties: {"type": "null"}`. Each field
  is accepted under its lowerCamel name and its snake_case name (proto3 JSON takes both). Fields
  whose discovery description starts with "Required." are required (under either name), as in
  batchline (src/request/fields.rs).
* null is accepted for every field (protobuf JSON: unset).
* string, boolean; `format: byte` is base64 (standard or URL-safe alphabet, padding optional but
  consistent), checked with a pattern; `google-duration` and `google-datetime` are checked with a
  pattern (the shape, not the range).
* Integers (`int32`, `uint32`, `int64`, `uint64`): a whole JSON number in range, or a decimal
  string (its range is not checked). Floats: a JSON number, or a string "NaN", "Infinity",
  "-Infinity" or a decimal number.
* Enums: one of the names, or an index into them (protobuf JSON takes an enum's number).
* Arrays via `items`, maps via `additionalProperties`, `type: any` accepts anything.

Only facts are taken from the document (names, types, formats, enum values, requiredness); no
descriptions are copied.
"""

import json
import re
import sys

ROOT = "GoogleCloudAiplatformV1GenerateContentRequest"
B64 = "[A-Za-z0-9+/_-]"
BASE64 = f"^(?:{B64}{{4}})*(?:{B64}{{2,3}}|{B64}{{2}}==|{B64}{{3}}=)?$"
DURATION = r"^-?[0-9]+(?:\.[0-9]{1,9})?s$"
TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$"
INT_STRING = r"^[+-]?[0-9]+$"
FLOAT_STRING = r"^\s*(?:NaN|-?Infinity|[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*$"
INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


def snake(name):
    return re.sub(r"([A-Z])", r"_\1", name).lower()


def field(p):
    """The JSON Schema of a field (or array item, or map value); null always allowed."""
    if "$ref" in p:
        return {"$ref": "#/$defs/" + p["$ref"]}  # the definition allows null itself
    t = p.get("type")
    fmt = p.get("format")
    if t == "any":
        return {}
    if t == "array":
        return {"type": ["array", "null"], "items": field(p["items"])}
    if t == "object":
        if "properties" in p:
            return message(p)
        return {"type": ["object", "null"], "additionalProperties": field(p.get("additionalProperties", {"type": "any"}))}
    if t == "boolean":
        return {"type": ["boolean", "null"]}
    if t == "integer" or fmt in INT_RANGES:
        lo, hi = INT_RANGES.get(fmt, INT_RANGES["int32"])
        return {"type": ["integer", "string", "null"], "minimum": lo, "maximum": hi, "pattern": INT_STRING}
    if t == "number":
        return {"type": ["number", "string", "null"], "pattern": FLOAT_STRING}
    if t == "string":
        if "enum" in p:
            values = p["enum"]
            return {"enum": list(values) + list(range(len(values))) + [None]}
        s = {"type": ["string", "null"]}
        if fmt == "byte":
            s["pattern"] = BASE64
        elif fmt == "google-duration":
            s["pattern"] = DURATION
        elif fmt == "google-datetime":
            s["pattern"] = TIMESTAMP
        return s
    raise SystemExit(f"unhandled discovery schema: {p}")


def message(schema):
    props = {}
    required = []
    for name, p in sorted(schema.get("properties", {}).items()):
        s = field(p)
        props[name] = s
        if snake(name) != name:
            props[snake(name)] = s
        if p.get("description", "").startswith("Required."):
            required.append(name)
    out = {"type": ["object", "null"], "properties": props, "additionalProperties": {"type": "null"}}
    plain = [n for n in required if snake(n) == n]
    either = [n for n in required if snake(n) != n]
    if plain:
        out["required"] = plain
    alts = [{"anyOf": [{"required": [n]}, {"required": [snake(n)]}]} for n in either]
    if alts:
        out["allOf"] = alts
    return out


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: convert.py DISCOVERY.json OUT.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    defs = {name: (message(s) if s.get("type") == "object" and "additionalProperties" not in s else field(s))
            for name, s in sorted(doc["schemas"].items())}
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": f"Generated by benches/jsonschema_compare/convert.py from {doc.get('name')} {doc.get('version')} revision {doc.get('revision')}",
        "type": "object",
        "required": ["request"],
        "properties": {"request": {"type": "object", "$ref": "#/$defs/" + ROOT}},
        "$defs": defs,
    }
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(schema, f, separators=(",", ":"))
    print(f"{sys.argv[2]}: {len(defs)} definitions", file=sys.stderr)


if __name__ == "__main__":
    main()
