#!/usr/bin/env python3
"""Writes testdata/sample/requests.jsonl, the bundled sample: a seeded miniature of a real
Vertex AI batch input (stdlib only; the same bytes on every run and Python 3 version).

What it holds, and why (the README's first command runs `prepare` on it):
- 12 support tickets triaged under one long shared system instruction (about 2,600 tokens,
  above Gemini's 2,048-token implicit-cache minimum): the family whose cached prefix the primed
  order earns;
- 8 questions about one shared contract (about 2,400 tokens of document before each question):
  a second cacheable family, sent as document-then-question in one user turn;
- 4 rewrites under a house style guide of about 1,950 tokens: just short of the minimum, the
  family `stats` reports as "N tokens short";
- 470 short unique requests (review sentiment, translation, summaries, extraction), so the job
  runs over more than one round of the cache model's 256 parallel rows (the cache only pays
  after the first round);
- 6 duplicates (3 exact copies, 3 with a new "id" member: the same request resent), all with
  temperature 0 so deduplication changes no answer;
- 1 invalid line (`"txt"` for `"text"`), reported and skipped by `prepare`.

Usage: python3 testdata/sample/generate.py > testdata/sample/requests.jsonl
"""

import json
import random
import sys

# Seed 2 is chosen, not arbitrary: the trie order (by block hashes) places the triage family after
# the first 256 rows, where the cache model rewards priming (most seeds do; see README).
SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 2

NOUNS = [
    "router", "invoice", "contract", "account", "modem", "refund", "technician", "outage",
    "password", "voicemail", "roaming", "bill", "upgrade", "plan", "signal", "handset",
    "warranty", "appointment", "cable", "discount", "payment", "porting", "SIM card", "fibre line",
]
ADJECTIVES = [
    "slow", "broken", "late", "unexpected", "duplicate", "missing", "intermittent", "wrong",
    "expensive", "confusing", "cancelled", "delayed", "noisy", "faulty", "new", "old",
]
VERBS = [
    "stopped working", "was charged twice", "never arrived", "keeps dropping", "was cancelled",
    "shows an error", "was not applied", "is much slower than promised", "was billed in full",
    "has not been fixed", "disconnects every evening", "was moved without notice",
]
CITIES = ["Leeds", "Porto", "Lyon", "Graz", "Utrecht", "Aarhus", "Bilbao", "Turin", "Gdansk"]
PRODUCTS = [
    "headphones", "kettle", "desk lamp", "running shoes", "backpack", "coffee grinder",
    "phone case", "keyboard", "office chair", "water bottle", "tent", "blender", "monitor",
]
OPINIONS = [
    "works exactly as described", "broke after two weeks", "is far louder than I expected",
    "arrived scratched but works", "is the best purchase I made this year", "feels cheap",
    "does the job for the price", "stopped charging after a month", "is comfortable all day",
    "smells of plastic", "was easy to set up", "has a confusing manual", "is lighter than it looks",
]
LANGUAGES = ["French", "German", "Spanish", "Italian", "Portuguese", "Dutch", "Polish"]


def sentence(rng, subject):
    """One plausible support-policy sentence about `subject`."""
    return rng.choice([
        f"When a customer reports a {rng.choice(ADJECTIVES)} {subject}, first confirm the "
        f"account holder and the {rng.choice(NOUNS)} involved before offering any remedy.",
        f"Never promise a {rng.choice(NOUNS)} credit for a {subject} issue unless the billing "
        f"system shows the {rng.choice(ADJECTIVES)} charge on the current statement.",
        f"A {subject} case that mentions a {rng.choice(NOUNS)} in {rng.choice(CITIES)} goes to "
        f"the regional team, with the customer's own words quoted in the summary.",
        f"If the {subject} {rng.choice(VERBS)}, record the date the customer first noticed it "
        f"and whether a {rng.choice(NOUNS)} visit was already booked.",
        f"Escalate any {subject} complaint that repeats within thirty days, and set priority "
        f"to high when the customer depends on the {rng.choice(NOUNS)} for work.",
        f"Do not ask for the customer's {rng.choice(NOUNS)} details twice; if they are missing "
        f"from the {subject} ticket, mark the field unknown instead of guessing.",
    ])


def policy(rng, title, sections, per_section, rules):
    """A long shared system instruction: a role line, numbered sections of rules."""
    lines = [
        f"You are the {title} for Northwind Telecom. Read the customer's message and answer "
        "with one JSON object with the keys category, priority, summary and next_step.",
        "",
    ]
    for s in range(sections):
        subject = NOUNS[s % len(NOUNS)]
        lines.append(f"Section {s + 1}: {subject} cases.")
        for r in range(min(per_section, rules - s * per_section)):
            lines.append(f"{s + 1}.{r + 1} {sentence(rng, subject)}")
        lines.append("")
    return "\n".join(lines)


def contract(rng, clauses):
    """A long shared document: a service contract in numbered clauses."""
    out = ["MASTER SERVICES AGREEMENT between Northwind Telecom Ltd and Example Logistics BV.", ""]
    for c in range(clauses):
        noun = rng.choice(NOUNS)
        out.append(
            f"Clause {c + 1}. The provider shall keep the {noun} service available for at least "
            f"{rng.randint(95, 99)}.{rng.randint(0, 9)} percent of each calendar month, measured "
            f"at the customer's site in {rng.choice(CITIES)}. A {rng.choice(ADJECTIVES)} "
            f"{rng.choice(NOUNS)} reported in writing is answered within {rng.randint(2, 48)} "
            f"hours, and a service credit of {rng.randint(2, 25)} percent of the monthly fee "
            f"applies for each full day beyond that."
        )
    return "\n".join(out)


def ticket(rng, i):
    return (
        f"Ticket {10400 + i} from a customer in {rng.choice(CITIES)}: my "
        f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(VERBS)}, and the "
        f"{rng.choice(NOUNS)} {rng.choice(VERBS)} as well. I have called {rng.randint(2, 6)} "
        f"times this month. Please sort it out before {rng.choice(['Monday', 'Friday', 'the weekend'])}."
    )


def short_request(rng, i):
    """One short unique request of a common kind, in the style a pipeline writes it."""
    kind = i % 4
    if kind == 0:
        text = (f"Sentiment (positive, negative or mixed) of review #{5000 + i}: The "
                f"{rng.choice(PRODUCTS)} {rng.choice(OPINIONS)}.")
    elif kind == 1:
        text = (f"Translate into {rng.choice(LANGUAGES)}: \"Your {rng.choice(NOUNS)} order "
                f"{rng.randint(1000, 9999)} {rng.choice(VERBS)}; we are sorry.\"")
    elif kind == 2:
        text = (f"Summarise in one line: the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} in "
                f"{rng.choice(CITIES)} {rng.choice(VERBS)} on day {rng.randint(1, 28)}.")
    else:
        text = (f"Extract the invoice number and the amount as JSON from: \"Invoice "
                f"NW-{rng.randint(100000, 999999)} for {rng.randint(10, 900)}.{rng.randint(10, 99)} "
                f"EUR, {rng.choice(NOUNS)} service, {rng.choice(CITIES)}.\"")
    request = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    # Pipelines differ in spelling: some write snake_case, as the Python SDK's dicts do.
    if i % 5 == 3:
        request["generation_config"] = {"temperature": 0.0, "max_output_tokens": 64}
    else:
        request["generationConfig"] = {"temperature": 0.0}
    return request


def main():
    rng = random.Random(SEED)
    triage = policy(rng, "ticket triage assistant", 12, 7, 84)
    style = policy(rng, "copy editor", 11, 6, 63)
    document = contract(rng, 32)

    rows = []  # (request id, request)
    for i in range(420):
        rows.append((f"short-{i:04d}", short_request(rng, i)))
    family = []
    for i in range(9):
        family.append((f"triage-{i:02d}", {
            "systemInstruction": {"parts": [{"text": triage}]},
            "contents": [{"role": "user", "parts": [{"text": ticket(rng, i)}]}],
            "generationConfig": {"temperature": 0.0, "responseMimeType": "application/json"},
        }))
    for i in range(5):
        question = rng.choice([
            "What availability does clause {} promise?", "Which city does clause {} name?",
            "What service credit applies under clause {}?", "How fast must clause {} be answered?",
        ]).format(rng.randint(1, 34))
        family.append((f"contract-{i:02d}", {
            "contents": [{"role": "user", "parts": [{"text": document}, {"text": question}]}],
            "generationConfig": {"temperature": 0.0},
        }))
    for i in range(3):
        family.append((f"style-{i:02d}", {
            "systemInstruction": {"parts": [{"text": style}]},
            "contents": [{"role": "user", "parts": [{"text": "Rewrite for the website: " + ticket(rng, 50 + i)}]}],
            "generationConfig": {"temperature": 0.0},
        }))
    # The long-prompt work arrives together, after the first round of short requests, as a
    # pipeline that appends one job's output to another's would write it.
    rows[300:300] = family

    lines = [json.dumps({"id": rid, "request": req}, ensure_ascii=False, separators=(",", ":")) for rid, req in rows]
    # Duplicates: three exact copies, three resent under a new id (the same request).
    for k, src in enumerate([3, 77, 150, 9, 240, 410]):
        if k < 3:
            lines.insert(src + 40 + k, lines[src])
        else:
            rid, req = rows[src]
            lines.insert(src + 60 + k, json.dumps({"id": rid + "-resend", "request": req}, separators=(",", ":")))
    # One invalid line: a misspelt part field, which Vertex would reject.
    bad = {"id": "short-bad", "request": {"contents": [{"role": "user", "parts": [
        {"txt": "Summarise in one sentence: the modem in Graz keeps dropping."}]}]}}
    lines.insert(123, json.dumps(bad, separators=(",", ":")))
    sys.stdout.write("".join(line + "\n" for line in lines))


if __name__ == "__main__":
    main()
