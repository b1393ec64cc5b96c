#!/usr/bin/env python3
"""tests/bench/controller/apiload.py -- a small, fast API client for the
controller benchmarks (stdlib only; talks to the test cluster with the admin
client certificate from tests/cluster/up).

  apiload.py cached NS N        create N VolumeSnapshots + their contents in a
                                steady ready state (finalizers and status set),
                                so a controller caching them makes no writes
  apiload.py ready NS N [PVC]   create N dynamic VolumeSnapshots of PVC at once
                                and print creation-to-ready latencies (watch)
  apiload.py delete NS          delete every VolumeSnapshot in NS at once and
                                print the time until they and their contents
                                are all gone (watch)
  apiload.py paced NS N SECS PVC [RAW]
                                create N dynamic VolumeSnapshots of PVC, one
                                every SECS, and print creation-to-ready
                                latencies (watch); RAW gets one line a sample:
                                "<epoch created> <latency s>"
  apiload.py sentinel NS PVC NAME
                                create the dynamic VolumeSnapshot NAME of PVC,
                                print "created <epoch>", then "content <epoch>"
                                when its content appears and "ready <epoch>"
                                when it is readyToUse (watches; 900 s at most)
"""
import http.client, json, os, queue, ssl, sys, threading, time, urllib.parse

def cluster():
    d = os.environ["CLUSTER_DIR"]
    server = os.environ["API_SERVER"].replace("https://", "")
    host, port = server.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=f"{d}/pki/ca.crt")
    ctx.load_cert_chain(f"{d}/pki/admin.crt", f"{d}/pki/admin.key")
    return host, int(port), ctx

HOST, PORT, CTX = cluster()
GROUP = "/apis/snapshot.storage.k8s.io/v1"

class Conn:
    def __init__(self):
        self.c = http.client.HTTPSConnection(HOST, PORT, context=CTX, timeout=60)
    def req(self, method, path, body=None, ctype="application/json"):
        for _ in range(20):
            try:
                self.c.request(method, path, body=None if body is None else json.dumps(body),
                               headers={"Content-Type": ctype})
                r = self.c.getresponse()
                data = r.read()
                if r.status == 429 or r.status >= 500:
                    time.sleep(0.2)
                    continue
                return r.status, (json.loads(data) if data else None)
            except (ConnectionError, http.client.HTTPException, OSError):
                self.c = http.client.HTTPSConnection(HOST, PORT, context=CTX, timeout=60)
                time.sleep(0.2)
        raise RuntimeError(f"{method} {path}: giving up")

def parallel(jobs, fn, threads=16):
    q = queue.Queue()
    for j in jobs:
        q.put(j)
    errs = []
    def work():
        c = Conn()
        while True:
            try:
                j = q.get_nowait()
            except queue.Empty:
                return
            try:
                fn(c, j)
            except Exception as e:  # noqa: BLE001
                errs.append(str(e))
    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        sys.exit(f"{len(errs)} errors, first: {errs[0]}")

def ensure_ns(ns):
    Conn().req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": ns}})

def cached(ns, n, start):
    ensure_ns(ns)
    fin_vs = ["snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection",
              "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"]
    def one(c, i):
        name = f"cached-{i}"
        st, vs = c.req("POST", f"{GROUP}/namespaces/{ns}/volumesnapshots", {
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": {"name": name, "finalizers": fin_vs,
                         "labels": {"app.kubernetes.io/name": "bench", "bench/index": str(i)}},
            "spec": {"volumeSnapshotClassName": "csi-test-snapclass",
                     "source": {"persistentVolumeClaimName": "bench-source"}}})
        if st != 201:
            raise RuntimeError(f"create vs {name}: {st} {vs}")
        uid = vs["metadata"]["uid"]
        cname = f"snapcontent-{uid}"
        st, vsc = c.req("POST", f"{GROUP}/volumesnapshotcontents", {
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
            "metadata": {"name": cname, "finalizers": [
                "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"]},
            "spec": {"volumeSnapshotRef": {"apiVersion": "snapshot.storage.k8s.io/v1",
                                           "kind": "VolumeSnapshot", "namespace": ns,
                                           "name": name, "uid": uid},
                     "source": {"volumeHandle": f"bench-volume-{i}"},
                     "volumeSnapshotClassName": "csi-test-snapclass",
                     "deletionPolicy": "Retain", "driver": "bench.csi.example.com",
                     "sourceVolumeMode": "Filesystem"}})
        if st != 201:
            raise RuntimeError(f"create vsc {cname}: {st} {vsc}")
        ns_created = int(time.time() * 1e9)
        st, _ = c.req("PATCH", f"{GROUP}/volumesnapshotcontents/{cname}/status", {"status": {
            "snapshotHandle": f"bench-snap-{i}", "creationTime": ns_created,
            "readyToUse": True, "restoreSize": 1073741824}}, "application/merge-patch+json")
        if st != 200:
            raise RuntimeError(f"status vsc {cname}: {st}")
        st, _ = c.req("PATCH", f"{GROUP}/namespaces/{ns}/volumesnapshots/{name}/status", {
            "status": {"boundVolumeSnapshotContentName": cname,
                       "creationTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "readyToUse": True, "restoreSize": "1Gi"}},
            "application/merge-patch+json")
        if st != 200:
            raise RuntimeError(f"status vs {name}: {st}")
    t0 = time.time()
    parallel(range(start, start + n), one)
    print(f"created {n} ready snapshot+content pairs in {time.time() - t0:.1f}s")

def watch_stream(url, stop):
    """The events of the watch GET url, one dict each, until stop is set or
    the stream ends."""
    c = http.client.HTTPSConnection(HOST, PORT, context=CTX, timeout=900)
    c.request("GET", url)
    r = c.getresponse()
    buf = b""
    while not stop.is_set():
        chunk = r.read1(65536) if hasattr(r, "read1") else r.read(1)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield json.loads(line)

def send_and_wait(items, one, lock, finished):
    """parallel(items, one), then up to 900 s until finished() (called under
    lock) holds; returns when sending started and how long it took."""
    t0 = time.time()
    parallel(items, one)
    sent = time.time() - t0
    deadline = time.time() + 900
    while time.time() < deadline:
        with lock:
            if finished():
                break
        time.sleep(0.2)
    return t0, sent

def watch_ready(ns):
    """Start a watch on ns's VolumeSnapshots (first, so no transition is
    missed): returns (done, lock, stop), done = name -> time it was first
    seen readyToUse.  A stream that ends early (the API server may close a
    slow watcher) is followed by a list, which the next watch resumes from."""
    done, lock, stop = {}, threading.Lock(), threading.Event()
    path = f"{GROUP}/namespaces/{ns}/volumesnapshots"
    def mark(o):
        if (o.get("status") or {}).get("readyToUse") is True:
            with lock:
                done.setdefault(o["metadata"]["name"], time.time())
    def watch():
        rv = None
        while not stop.is_set():
            resume = f"&resourceVersion={rv}" if rv else ""
            for ev in watch_stream(f"{path}?watch=1&timeoutSeconds=900{resume}", stop):
                if ev.get("type") == "ERROR":
                    break
                mark(ev["object"])
                rv = ev["object"]["metadata"].get("resourceVersion", rv)
            if stop.is_set():
                return
            rv, items = list_items(Conn(), path)
            print(f"apiload: watch on {path} ended early; listed {len(items)} and resumed", file=sys.stderr)
            for o in items:
                mark(o)
    threading.Thread(target=watch, daemon=True).start()
    time.sleep(1)
    return done, lock, stop

def post_dynamic(c, ns, name, pvc, lock, created):
    """POST a dynamic VolumeSnapshot name of pvc, its send time in created."""
    with lock:
        created[name] = time.time()
    st, body = c.req("POST", f"{GROUP}/namespaces/{ns}/volumesnapshots", {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
        "metadata": {"name": name},
        "spec": {"source": {"persistentVolumeClaimName": pvc}}})
    if st != 201:
        raise RuntimeError(f"create {name}: {st} {body}")

def ready(ns, n, pvc):
    ensure_ns(ns)
    created = {}
    done, lock, stop = watch_ready(ns)
    def one(c, i):
        post_dynamic(c, ns, f"ready-{i}", pvc, lock, created)
    t0, t_created = send_and_wait(range(n), one, lock, lambda: len(done) >= n)
    stop.set()
    lat = sorted(done[k] - created[k] for k in done if k in created)
    if not lat:
        sys.exit("nothing became ready")
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    total = max(done.values()) - t0
    print(f"snapshots={n} ready={len(lat)} created_in={t_created:.1f}s all_ready_in={total:.1f}s "
          f"latency_p50={pct(0.5):.2f}s p90={pct(0.9):.2f}s p99={pct(0.99):.2f}s max={lat[-1]:.2f}s")
    if len(lat) < n:
        sys.exit(f"only {len(lat)} of {n} became ready")

def paced(ns, n, interval, pvc, raw=None):
    ensure_ns(ns)
    created = {}
    done, lock, stop = watch_ready(ns)
    c = Conn()
    t0 = time.time()
    for i in range(n):
        delay = t0 + i * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        post_dynamic(c, ns, f"paced-{i}", pvc, lock, created)
    sent = time.time() - t0
    deadline = time.time() + 900
    while time.time() < deadline:
        with lock:
            if all(k in done for k in created):
                break
        time.sleep(0.2)
    stop.set()
    with lock:
        got = sorted((created[k], done[k] - created[k]) for k in created if k in done)
    if raw:
        with open(raw, "w") as f:
            for t, l in got:
                f.write(f"{t:.3f} {l:.3f}\n")
    lat = sorted(l for _, l in got)
    if not lat:
        sys.exit("nothing became ready")
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print(f"samples={n} ready={len(lat)} sent_in={sent:.1f}s latency_p50={pct(0.5):.2f}s "
          f"p90={pct(0.9):.2f}s p99={pct(0.99):.2f}s max={lat[-1]:.2f}s")
    if len(lat) < n:
        sys.exit(f"only {len(lat)} of {n} became ready")

def sentinel(ns, pvc, name):
    ensure_ns(ns)
    st, vs = Conn().req("POST", f"{GROUP}/namespaces/{ns}/volumesnapshots", {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
        "metadata": {"name": name},
        "spec": {"source": {"persistentVolumeClaimName": pvc}}})
    if st != 201:
        sys.exit(f"create {name}: {st} {vs}")
    print(f"created {time.time():.3f}", flush=True)
    stop = threading.Event()
    seen = {}
    lock = threading.Lock()
    def watch(what, url, hit):
        for ev in watch_stream(url, stop):
            if ev.get("type") in ("ADDED", "MODIFIED") and hit(ev["object"]):
                with lock:
                    if what not in seen:
                        seen[what] = time.time()
                        print(f"{what} {seen[what]:.3f}", flush=True)
                return
    # field selectors: one object each, however many others exist
    cname = f"snapcontent-{vs['metadata']['uid']}"
    ts = [threading.Thread(target=watch, daemon=True, args=(
              "content", f"{GROUP}/volumesnapshotcontents?watch=1&timeoutSeconds=900"
                         f"&fieldSelector=metadata.name%3D{cname}", lambda o: True)),
          threading.Thread(target=watch, daemon=True, args=(
              "ready", f"{GROUP}/namespaces/{ns}/volumesnapshots?watch=1&timeoutSeconds=900"
                       f"&fieldSelector=metadata.name%3D{name}",
              lambda o: (o.get("status") or {}).get("readyToUse") is True))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(900)
    stop.set()

def watch_gone(path, rv, names, lock, stop):
    """Removes from names every object whose DELETED event arrives.  A stream
    that ends early is followed by a list: what it no longer holds is gone."""
    while not stop.is_set():
        for ev in watch_stream(f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=900", stop):
            if ev.get("type") == "ERROR":
                break
            if ev.get("type") == "DELETED":
                with lock:
                    names.discard(ev["object"]["metadata"]["name"])
            rv = ev["object"]["metadata"].get("resourceVersion", rv)
        if stop.is_set():
            return
        rv, now = list_names(Conn(), path, lambda o: True)
        with lock:
            names.intersection_update(now)
        print(f"apiload: watch on {path} ended early; listed and resumed", file=sys.stderr)

def list_pages(c, path):
    """(resourceVersion, items) for each page of the list at path, 500 items
    a page; the pages share the first one's resourceVersion."""
    cont, rv = "", None
    while True:
        st, page = c.req("GET", f"{path}?limit=500" + (f"&continue={urllib.parse.quote(cont)}" if cont else ""))
        if st != 200:
            sys.exit(f"list {path}: {st}")
        rv = rv or page["metadata"]["resourceVersion"]
        yield rv, page["items"]
        cont = page["metadata"].get("continue")
        if not cont:
            return

def list_items(c, path):
    """(resourceVersion, [items]) of the list at path."""
    rv, items = None, []
    for rv, page in list_pages(c, path):
        items.extend(page)
    return rv, items

def list_names(c, path, keep):
    """(resourceVersion, {names of the items keep() accepts}) of the list at
    path; only names are kept (bench-scale pages through 50,000 contents)."""
    rv, names = None, set()
    for rv, page in list_pages(c, path):
        names.update(o["metadata"]["name"] for o in page if keep(o))
    return rv, names

def delete(ns):
    c = Conn()
    vs_rv, vs = list_names(c, f"{GROUP}/namespaces/{ns}/volumesnapshots", lambda o: True)
    # in pages: every content of the cluster (bench-scale: 50,000) passes by
    vsc_rv, vsc = list_names(c, f"{GROUP}/volumesnapshotcontents",
                             lambda o: (o["spec"].get("volumeSnapshotRef") or {}).get("namespace") == ns)
    n_vs, n_vsc = len(vs), len(vsc)
    lock = threading.Lock()
    stop = threading.Event()
    for path, rv, names in ((f"{GROUP}/namespaces/{ns}/volumesnapshots", vs_rv, vs),
                            (f"{GROUP}/volumesnapshotcontents", vsc_rv, vsc)):
        threading.Thread(target=watch_gone, args=(path, rv, names, lock, stop), daemon=True).start()
    time.sleep(1)
    def one(c, name):
        st, body = c.req("DELETE", f"{GROUP}/namespaces/{ns}/volumesnapshots/{name}")
        if st not in (200, 202, 404):
            raise RuntimeError(f"delete {name}: {st} {body}")
    t0, t_deleted = send_and_wait(sorted(vs), one, lock, lambda: not vs and not vsc)
    stop.set()
    with lock:
        left = len(vs) + len(vsc)
    print(f"deleted snapshots={n_vs} contents={n_vsc} deletes_sent_in={t_deleted:.1f}s "
          f"all_gone_in={time.time() - t0:.1f}s left={left}")
    if left:
        sys.exit(f"{left} objects still exist")

if __name__ == "__main__":
    mode, ns = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 and mode != "sentinel" else 0
    if mode == "delete":
        delete(ns)
    elif mode == "cached":
        cached(ns, n, int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    elif mode == "ready":
        ready(ns, n, sys.argv[4] if len(sys.argv) > 4 else "src")
    elif mode == "paced":
        paced(ns, n, float(sys.argv[4]), sys.argv[5], sys.argv[6] if len(sys.argv) > 6 else None)
    elif mode == "sentinel":
        sentinel(ns, sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
