#!/usr/bin/env python3
"""tests/bench/controller/reqdelta.py BEFORE AFTER N -- the API server's
request counts between two scrapes of apiserver_request_total (each the
output of `kubectl get --raw /metrics`), divided by N, one line per verb,
resource/subresource and response code (WATCH excluded), most first.
Shows which requests and which failures (409 conflicts, 404s) a controller
change added or removed.  Prints figures; asserts nothing."""
import collections, re, sys


def scrape(path):
    out = collections.Counter()
    for line in open(path):
        m = re.match(r"apiserver_request_total\{(.*)\} (\S+)", line)
        if not m:
            continue
        lab = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if lab.get("verb") == "WATCH" or not lab.get("resource"):
            continue
        res = lab["resource"] + ("/" + lab["subresource"] if lab.get("subresource") else "")
        out[(lab["verb"], res, lab.get("code", ""))] += float(m.group(2))
    return out


a, b, n = scrape(sys.argv[1]), scrape(sys.argv[2]), float(sys.argv[3])
rows = sorted(((b[k] - a[k]) / n, k) for k in b if b[k] - a[k] > 0)
print("  ".join(f"{v} {r} {c}: {d:.2f}" for d, (v, r, c) in reversed(rows) if d >= 0.01))
