#!/usr/bin/env python3
"""tests/bench/compare/compare.py WORK [DOC] -- turns compare.sh's raw results
(WORK/results, "key value" lines, and the API server metric snapshots
WORK/ready_<side>_<n>-m{0,1,2}) into the ratio table on stdout and, when DOC
is given, docs/performance.md with gnuplot charts (PNG) beside it.
Prints figures; asserts nothing about them."""
import collections, os, re, subprocess, sys, time

work = sys.argv[1]
doc = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
R = {}
for line in open(f"{work}/results"):
    k, _, v = line.rstrip("\n").partition(" ")
    R[k] = v
N = int(R["n"])
curve = [int(x) for x in R["curve"].split()]
steps = [int(x) for x in R["cached_steps"].split()]
SIDES = ("upstream", "ours")
WRITE_VERBS = ("POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY")
RESOURCES = ("volumesnapshots", "volumesnapshotcontents", "persistentvolumeclaims", "events")


def num(k):
    try:
        return float(R[k])
    except (KeyError, ValueError):
        return None


def metrics(path):
    out = collections.Counter()
    if not os.path.exists(path):
        return None
    for line in open(path):
        m = re.match(r"apiserver_request_total\{(.*)\} (\S+)", line)
        if not m:
            continue
        lab = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if lab.get("verb") in WRITE_VERBS and lab.get("resource") in RESOURCES:
            out[(lab["verb"], lab["resource"], lab.get("subresource", ""))] += float(m.group(2))
    return out


def writes(side, n, ph):  # ph 0: create, 1: delete -> Counter of per-snapshot writes
    a = metrics(f"{work}/ready_{side}_{n}-m{ph}")
    b = metrics(f"{work}/ready_{side}_{n}-m{ph + 1}")
    if a is None or b is None:
        return None
    return collections.Counter({k: (b[k] - a[k]) / n for k in b if b[k] - a[k] > 0})


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:.0f}{unit}"
    return f"{v:.3g}{unit}"


def ratio(u, o, smaller_better=True):
    """smaller_better (memory, CPU, latency): ours/upstream, with 1/x when ours
    is smaller; otherwise (a duration, lower is faster): upstream/ours as a
    speed-up, "1.6× faster"."""
    if u is None or o is None or u == 0 or o == 0:
        return "n/a"
    if smaller_better:
        return f"{o / u:.2f} (1/{u / o:.1f})" if o < u else f"{o / u:.2f}"
    return f"{u / o:.2f}× faster" if u >= o else f"{u / o:.2f}× (slower)"


def lat_ms(s):  # wrk latency text -> ms
    if not s:
        return None
    m = re.match(r"([0-9.]+)(us|ms|s)$", s)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


rows = []  # (figure, upstream, ours, ratio)
mb = lambda k: None if num(k) is None else num(k) / 1024
for lbl, key in (("RSS idle, nothing cached (MB)", "Rss"), ("  anonymous (MB)", "Anonymous")):
    u, o = mb(f"idle_upstream_{key}"), mb(f"idle_ours_{key}")
    rows.append((lbl, fmt(u), fmt(o), ratio(u, o)))
u = None if mb("idle_upstream_Rss") is None else mb("idle_upstream_Rss") - mb("idle_upstream_Anonymous")
o = None if mb("idle_ours_Rss") is None else mb("idle_ours_Rss") - mb("idle_ours_Anonymous")
rows.append(("  file-backed (MB)", fmt(u), fmt(o), ratio(u, o)))
u, o = mb("idle_upstream_Pss"), mb("idle_ours_Pss")
if u is not None or o is not None:
    rows.append(("  PSS (shared library pages split among their users) (MB)", fmt(u), fmt(o), ratio(u, o)))
rows.append(("  threads", R.get("idle_upstream_threads", "n/a"), R.get("idle_ours_threads", "n/a"), ""))
c = max(steps) if steps else 0
u, o = mb(f"cached_upstream_{c}_rss"), mb(f"cached_ours_{c}_rss")
rows.append((f"RSS after restart, {c} VS + {c} VSC cached (MB)", fmt(u), fmt(o), ratio(u, o)))
u, o = mb(f"cached_upstream_{c}_hwm"), mb(f"cached_ours_{c}_hwm")
rows.append(("  peak RSS (VmHWM) of that restart (MB)", fmt(u), fmt(o), ratio(u, o)))
u, o = mb(f"ready_upstream_{N}_hwm"), mb(f"ready_ours_{N}_hwm")
rows.append((f"peak RSS during create+delete of {N} (MB)", fmt(u), fmt(o), ratio(u, o)))
for lbl, key in (("create to ready", "cpu_create_to_ready_s"), ("create, until quiet", "cpu_create_s"),
                 ("delete, until quiet", "cpu_delete_s")):
    u, o = num(f"ready_upstream_{N}_{key}"), num(f"ready_ours_{N}_{key}")
    rows.append((f"controller CPU, {N} snapshots {lbl} (s)", fmt(u), fmt(o), ratio(u, o)))
    if key != "cpu_create_s" and u is not None and o is not None:
        rows.append(("  per snapshot (ms)", fmt(u / N * 1e3), fmt(o / N * 1e3), ""))
for n in curve:
    u, o = num(f"ready_upstream_{n}_all_ready_s"), num(f"ready_ours_{n}_all_ready_s")
    rows.append((f"create to all ready, N={n} (s)", fmt(u), fmt(o), ratio(u, o, False)))
u, o = num(f"ready_upstream_{N}_all_gone_s"), num(f"ready_ours_{N}_all_gone_s")
rows.append((f"delete to all gone, N={N} (s)", fmt(u), fmt(o), ratio(u, o, False)))
for ph, lbl in ((0, "create"), (1, "delete")):
    wu, wo = writes("upstream", N, ph), writes("ours", N, ph)
    u = None if wu is None else sum(wu.values())
    o = None if wo is None else sum(wo.values())
    rows.append((f"mutating API requests per snapshot, {lbl} (VS/VSC/PVC/events, all clients)",
                 fmt(u), fmt(o), "" if u is None or o is None else f"{o / u:.2f}"))
for ph in ("create", "delete"):
    u, o = num(f"ready_upstream_{N}_apiserver_cpu_{ph}_s"), num(f"ready_ours_{N}_apiserver_cpu_{ph}_s")
    rows.append((f"API server CPU during {ph} (s)", fmt(u), fmt(o), ratio(u, o)))
    u, o = num(f"ready_upstream_{N}_etcd_cpu_{ph}_s"), num(f"ready_ours_{N}_etcd_cpu_{ph}_s")
    rows.append((f"etcd CPU during {ph} (s)", fmt(u), fmt(o), ratio(u, o)))
for kind, lbl in (("validate", "admission (second default class, denied)"), ("convert", "conversion (VGSC v1beta2→v1beta1)")):
    if num(f"wh_upstream_{kind}_rps") is None and num(f"wh_ours_{kind}_rps") is None:
        continue
    u, o = num(f"wh_upstream_{kind}_rps"), num(f"wh_ours_{kind}_rps")
    rows.append((f"webhook {lbl}: req/s", fmt(u), fmt(o), "n/a" if not u or not o else f"{o / u:.2f}× the rate"))
    u, o = lat_ms(R.get(f"wh_upstream_{kind}_p99")), lat_ms(R.get(f"wh_ours_{kind}_p99"))
    rows.append(("  p99 (ms)", fmt(u), fmt(o), ratio(u, o)))
    u, o = num(f"wh_upstream_{kind}_cpu_us"), num(f"wh_ours_{kind}_cpu_us")
    rows.append(("  CPU per review (µs)", fmt(u), fmt(o), ratio(u, o)))
    u, o = mb(f"wh_upstream_{kind}_rss"), mb(f"wh_ours_{kind}_rss")
    rows.append(("  RSS after the run (MB)", fmt(u), fmt(o), ratio(u, o)))

table = ["| figure | upstream | ours | ratio: ours/upstream; times: speed-up |", "|---|---|---|---|"]
table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
print("\n".join(table))


def write_list(n, ph):
    wu, wo = writes("upstream", n, ph), writes("ours", n, ph)
    if wu is None or wo is None:
        return ["(not measured)"]
    keys = sorted(set(wu) | set(wo), key=lambda k: (k[1], k[2], k[0]))
    out = ["| verb | resource | subresource | upstream | ours |", "|---|---|---|---|---|"]
    for k in keys:
        out.append(f"| {k[0]} | {k[1]} | {k[2] or '-'} | {wu.get(k, 0):.2f} | {wo.get(k, 0):.2f} |")
    out.append(f"| **total** | | | **{sum(wu.values()):.2f}** | **{sum(wo.values()):.2f}** |")
    return out


def events_note(n):
    """Ours' recorder during the create phase (snapshot_controller_events_total)."""
    got = {r: num(f"ready_ours_{n}_events_{r}") for r in
           ("created", "aggregated", "dropped_queue_full", "dropped_spam_limit", "failed")}
    if got["created"] is None:
        return []
    parts = ", ".join(f"{r.replace('_', ' ')} {v / n:.2f}" for r, v in got.items() if v is not None)
    return [f"Events of ours' recorder during the create, per snapshot (its "
            f"`snapshot_controller_events_total`): {parts}. Upstream's recorder exposes no such count.", ""]


def machine_table(n):
    """Where the machine's CPU went while the load ran (compare.sh window):
    for the create until all were ready and the delete until all were gone,
    each side's CPU seconds by process, and what was left idle."""
    cpus = num("nproc") or 0
    head = ["| window | side | wall (s) | CPU-s on offer | busy | idle | steal | API server | etcd "
            "| csi-snapshotter | controller | the rest (load, driver, kernel) | speed probe before / after (s) |",
            "|" + "---|" * 13]
    out = []
    for w, lbl, wall_key in (("ready", "create to all ready", "all_ready_s"), ("gone", "delete to all gone", "all_gone_s")):
        for side in SIDES:
            k = f"ready_{side}_{n}_{w}"
            got = {f: num(f"{k}_{f}_s") for f in ("machine_busy", "machine_idle", "machine_steal", "apiserver",
                                                   "etcd", "sidecar", "controller")}
            if got["machine_busy"] is None:
                continue
            wall = num(f"ready_{side}_{n}_{wall_key}")
            named = sum(v for f, v in got.items() if f in ("apiserver", "etcd", "sidecar", "controller") and v)
            probe = f"{fmt(num(f'ready_{side}_{n}_probe_before_s'))} / {fmt(num(f'ready_{side}_{n}_probe_after_s'))}"
            cells = [fmt(got[f]) for f in got] + [fmt(got["machine_busy"] - named), probe]
            out.append(f"| {lbl} | {side} | {fmt(wall)} | {fmt(wall * cpus if wall else None)} | " + " | ".join(cells) + " |")
    if not out:
        return []
    return [f"Where the machine's CPU went (N={n}; CPU seconds over the window, all {cpus:.0f} CPUs; `/proc/stat` and "
            "each process's `/proc/PID/stat`; the window ends when the load sees the last snapshot ready or gone; "
            "the speed probe is the CPU seconds of a fixed loop, taken while quiet before and after the run: "
            "higher means the host gave this machine slower CPUs):",
            "", *head, *out, ""]


wl = {0: write_list(N, 0) + [""] + events_note(N), 1: write_list(N, 1)}
mt = machine_table(N)
print("\n" + "\n".join(mt))
for ph, lbl in ((0, "create to ready"), (1, "delete to gone")):
    print(f"\nwrites per snapshot, {lbl}, N={N} (apiserver_request_total deltas / N, all clients):")
    print("\n".join(wl[ph]))

if not doc:
    sys.exit(0)
ddir = os.path.dirname(os.path.abspath(doc))
os.makedirs(ddir, exist_ok=True)
charts = []


def chart(name, caption, rows, title, xlabel, ylabel, plots):
    """WORK/<name>.dat from rows, drawn by gnuplot into ddir/performance-<name>.png
    with one line a (columns, style, title) of plots; the caption joins charts."""
    dat = f"{work}/{name}.dat"
    with open(dat, "w") as f:
        f.writelines(rows)
    png = os.path.join(ddir, f"performance-{name}.png")
    charts.append((caption, os.path.basename(png)))
    lines = ", \\\n     ".join(f"'{dat}' using {u} with linespoints {st} title '{t}'" for u, st, t in plots)
    gp = f"""set terminal pngcairo size 800,480 noenhanced
set output '{png}'
set title '{title}'
set xlabel '{xlabel}'
set ylabel '{ylabel}'
set key top left
set yrange [0:*]
set grid
plot {lines}
"""
    subprocess.run(["gnuplot"], input=gp, text=True, check=False)


if all(num(f"cached_{s}_{c}_rss") is not None for s in SIDES for c in steps):
    chart("rss", "RSS after a restart against cached objects",
          [f"{c} {num(f'cached_upstream_{c}_rss') / 1024:.2f} {num(f'cached_ours_{c}_rss') / 1024:.2f} "
           f"{num(f'cached_upstream_{c}_hwm') / 1024:.2f} {num(f'cached_ours_{c}_hwm') / 1024:.2f}\n" for c in steps],
          "Controller RSS after restart, N VolumeSnapshots + N contents cached",
          "cached VolumeSnapshots (each with its content)", "MB",
          (("1:2", "lw 2", "upstream VmRSS"), ("1:4", "dt 2", "upstream VmHWM (peak)"),
           ("1:3", "lw 2", "ours VmRSS"), ("1:5", "dt 2", "ours VmHWM (peak)")))
if all(num(f"ready_{s}_{n}_all_ready_s") is not None for s in SIDES for n in curve):
    chart("ready", "Time to all ready (and all gone) against N",
          [f"{n} {num(f'ready_upstream_{n}_all_ready_s')} {num(f'ready_ours_{n}_all_ready_s')} "
           f"{num(f'ready_upstream_{n}_all_gone_s') or 0} {num(f'ready_ours_{n}_all_gone_s') or 0}\n" for n in curve],
          "N dynamic snapshots of one PVC created at once (then deleted at once)", "N", "seconds",
          (("1:2", "lw 2", "upstream: create to all ready"), ("1:3", "lw 2", "ours: create to all ready"),
           ("1:4", "dt 2", "upstream: delete to all gone"), ("1:5", "dt 2", "ours: delete to all gone")))

def leftovers():
    """What earlier runs left when each ready run started (compare.sh BETWEEN)."""
    runs = [(n, s) for n in curve for s in SIDES if num(f"ready_{s}_{n}_events_before") is not None]
    if not runs:
        return []
    ev = max(num(f"ready_{s}_{n}_events_before") for n, s in runs)
    db = max(num(f"ready_{s}_{n}_etcd_db_before") or 0 for n, s in runs)
    rss = [num(f"ready_{s}_{n}_apiserver_rss_before") or 0 for n, s in runs]
    return [f"Between controller runs: `BETWEEN={R.get('between', 'keep')}`. At the start of the ready runs "
            f"the namespace held at most {ev:.0f} Events, etcd's database was at most {db / 1e6:.1f} MB "
            f"and the API server's RSS was {min(rss) / 1024:.0f} to {max(rss) / 1024:.0f} MiB "
            "(\"Leftovers between runs\" below).", ""]


def section(path, title):
    if not os.path.exists(path):
        return []
    return [f"#### {title}", "", "```", open(path).read().rstrip(), "```", ""]


# The generated part sits between markers; hand-written analysis outside them stays.
gen = ["<!-- bench-compare: generated from here -->",
       f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `make bench-compare` "
       f"(N={N}, curve {curve}, cached steps {steps}) on a {R.get('nproc')}-core machine "
       f"that other work may share "
       f"(load average {R.get('load_start')} at the start, {R.get('load_end')} at the end): "
       "absolute times are noise; the ratios, taken minutes apart with the order alternating, are the result.",
       "", *table, "", *leftovers(),
       f"### Writes per dynamic snapshot (N={N}; apiserver_request_total deltas divided by N; "
       "all clients: the load's POST/DELETE, the csi-snapshotter's and the controller's writes)", "",
       "Create to ready:", "", *wl[0], "", "Delete to all gone:", "", *wl[1], "", *mt]
for title, png in charts:
    gen += [f"![{title}]({png})", ""]
gen += ["### Raw attachments of this run", ""]
for side in SIDES:
    gen += section(f"{work}/smaps-{side}.txt", f"Idle {side}: resident memory per mapping (KiB, /proc/PID/smaps)")
for p in ("create", "delete"):
    gen += section(f"{work}/perf-{p}-dso.txt", f"perf, ours, {p} phase: samples per object file")
    gen += section(f"{work}/perf-{p}-sym.txt", f"perf, ours, {p} phase: hottest symbols (self)")
gen.append("<!-- bench-compare: generated to here -->")
head = "# Performance: ours against upstream, side by side\n\n"
old = open(doc).read() if os.path.exists(doc) else head
a = old.find("<!-- bench-compare: generated from here -->")
b = old.find("<!-- bench-compare: generated to here -->")
if a >= 0 and b > a:
    new = old[:a] + "\n".join(gen) + old[b + len("<!-- bench-compare: generated to here -->"):]
else:
    new = old.rstrip("\n") + "\n\n## Latest `make bench-compare` run\n\n" + "\n".join(gen) + "\n"
open(doc, "w").write(new)
print(f"\nwrote {doc}")
