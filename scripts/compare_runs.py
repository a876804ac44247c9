#!/usr/bin/env python3
"""Compare every number in two lethe run folders' results/*.json.
Keys that are timings, paths, hashes or host facts are skipped. Prints per-file counts and each difference."""
import json, sys, os, hashlib, math
SKIP = ("second", "time", "elapsed", "tok_per_s", "tokens_per_s", "path", "sha256", "hash", "dir",
        "folder", "file", "date", "host", "cpu", "thread", "peak_rss", "memory", "started", "finished", "wall")
def flat(x, p=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from flat(v, f"{p}.{k}" if p else k)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from flat(v, f"{p}[{i}]")
    else:
        yield p, x
def skip(k):
    kl = k.lower()
    return any(s in kl for s in SKIP)
a, b = sys.argv[1], sys.argv[2]
tot = same = 0; diffs = []
for f in sorted(os.listdir(os.path.join(a, "results"))):
    if not f.endswith(".json"): continue
    pb = os.path.join(b, "results", f)
    if not os.path.exists(pb): print("only in", a, f); continue
    da = dict(flat(json.load(open(os.path.join(a, "results", f)))))
    db = dict(flat(json.load(open(pb))))
    n = s = 0
    for k, v in da.items():
        if skip(k) or isinstance(v, str): continue
        n += 1
        w = db.get(k, "<missing>")
        if v == w or (isinstance(v, float) and isinstance(w, float) and math.isnan(v) and math.isnan(w)): s += 1
        else: diffs.append((f, k, v, w))
    extra = [k for k in db if k not in da and not skip(k) and not isinstance(db[k], str)]
    print(f"{f}: {s}/{n} numbers identical; {len(extra)} numeric keys only in {b}")
    tot += n; same += s
print(f"TOTAL {same}/{tot} identical")
for d in diffs[:40]: print("DIFF", *d)
