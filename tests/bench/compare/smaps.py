#!/usr/bin/env python3
"""tests/bench/compare/smaps.py SMAPS -- where a process's resident memory is:
Rss, Anonymous and Private_Dirty (KiB) summed per mapping (file name, [heap],
[stack], anonymous), largest first, with a total line.  Paths inside the
tree (the repository, or its .cache, possibly a symlink elsewhere) are shown
relative to it, so the report names no machine's directories."""
import collections, os, re, sys


def short(path):
    if "/.cache/" in path:
        return ".cache/" + path.split("/.cache/", 1)[1]
    top = os.getcwd() + "/"
    return path[len(top):] if path.startswith(top) else path


rows = collections.defaultdict(lambda: [0, 0, 0, 0])  # rss, anon, dirty, count
name = None
for line in open(sys.argv[1]):
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        parts = line.split(None, 5)
        name = short(parts[5].strip()) if len(parts) > 5 else "[anon]"
        rows[name][3] += 1
        continue
    k, _, v = line.partition(":")
    if k in ("Rss", "Anonymous", "Private_Dirty"):
        rows[name][("Rss", "Anonymous", "Private_Dirty").index(k)] += int(v.split()[0])
tot = [sum(r[i] for r in rows.values()) for i in range(4)]
print(f"{'Rss':>7} {'Anon':>7} {'PrivDirty':>9} {'maps':>4}  mapping")
for n, r in sorted(rows.items(), key=lambda kv: -kv[1][0]):
    if r[0] == 0:
        continue
    print(f"{r[0]:>7} {r[1]:>7} {r[2]:>9} {r[3]:>4}  {n}")
print(f"{tot[0]:>7} {tot[1]:>7} {tot[2]:>9} {tot[3]:>4}  total (KiB)")
