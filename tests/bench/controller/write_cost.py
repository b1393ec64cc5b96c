#!/usr/bin/env python3
"""tests/bench/controller/write_cost.py -- the API server's CPU per write,
by kind of write, on the same change of the same objects.

  write_cost.py NS N [ROUNDS]

Creates N VolumeSnapshots in NS (no controller needs to run), then, ROUNDS
(3) times in alternation, changes each of them once by every kind of write
below, 16 connections with one request in flight each, and reads the API server's CPU (utime + stime
of its pid in $CLUSTER_DIR/pids, /proc) before and after each batch:

  json-patch    PATCH application/json-patch+json: test of the
                resourceVersion, then add or remove a finalizer (what our
                controller sends for a snapshot's finalizers)
  merge-patch   PATCH application/merge-patch+json of metadata.finalizers
                with the resourceVersion
  put           PUT of the whole object with the finalizer added or removed
                (what upstream sends)
  status-merge  PATCH .../status, merge patch of status.readyToUse
  status-put    PUT .../status of the whole object with status.readyToUse

Prints the API server's CPU per request (microseconds) for each kind and
round, and the mean.  Each write is conditional on the resourceVersion the
previous answer gave, so every request is a real change.  Deletes the
namespace at the end.  Asserts nothing.
"""
import json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apiload  # noqa: E402  (the cluster's client: HOST, PORT, CTX, Conn, parallel)

GROUP = apiload.GROUP
FIN = "bench.example.com/write-cost"


def apiserver_ticks():
    pid = None
    with open(os.path.join(os.environ["CLUSTER_DIR"], "pids")) as f:
        for line in f:
            name, p = line.split()[:2]
            if name == "kube-apiserver":
                pid = p
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def main():
    ns, n = sys.argv[1], int(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    hz = os.sysconf("SC_CLK_TCK")
    c = apiload.Conn()
    c.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": ns}})
    objs = {}

    def create(conn, i):
        name = f"wc-{i}"
        st, o = conn.req("POST", f"{GROUP}/namespaces/{ns}/volumesnapshots", {
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": {"name": name},
            "spec": {"source": {"volumeSnapshotContentName": f"none-{i}"}}})
        if st != 201:
            raise RuntimeError(f"create {name}: {st} {o}")
        objs[name] = o

    apiload.parallel(range(n), create)

    def write(conn, kind, name):
        o = objs[name]
        rv = o["metadata"]["resourceVersion"]
        fins = o["metadata"].get("finalizers", [])
        path = f"{GROUP}/namespaces/{ns}/volumesnapshots/{name}"
        if kind == "json-patch":
            op = ([{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
                   {"op": "remove", "path": "/metadata/finalizers/0"}] if fins else
                  [{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
                   {"op": "add", "path": "/metadata/finalizers", "value": [FIN]}])
            st, r = conn.req("PATCH", path, op, "application/json-patch+json")
        elif kind == "merge-patch":
            st, r = conn.req("PATCH", path, {"metadata": {"resourceVersion": rv,
                                                          "finalizers": [] if fins else [FIN]}},
                             "application/merge-patch+json")
        elif kind == "put":
            body = json.loads(json.dumps(o))
            body["metadata"]["finalizers"] = [] if fins else [FIN]
            st, r = conn.req("PUT", path, body)
        elif kind == "status-merge":
            ready = bool(o.get("status", {}).get("readyToUse"))
            st, r = conn.req("PATCH", path + "/status",
                             {"metadata": {"resourceVersion": rv},
                              "status": {"readyToUse": not ready}},
                             "application/merge-patch+json")
        else:  # status-put
            body = json.loads(json.dumps(o))
            body.setdefault("status", {})["readyToUse"] = not bool(
                o.get("status", {}).get("readyToUse"))
            st, r = conn.req("PUT", path + "/status", body)
        if st != 200:
            raise RuntimeError(f"{kind} {name}: {st} {r}")
        objs[name] = r

    kinds = ["json-patch", "merge-patch", "put", "status-merge", "status-put"]
    per = {k: [] for k in kinds}
    names = sorted(objs)
    for r in range(rounds):
        order = kinds if r % 2 == 0 else list(reversed(kinds))
        for k in order:
            time.sleep(2)  # let the previous batch's watch fan-out settle
            t0, w0 = apiserver_ticks(), time.time()
            apiload.parallel(names, lambda conn, nm, k=k: write(conn, k, nm))
            time.sleep(1)
            t1, w1 = apiserver_ticks(), time.time()
            us = (t1 - t0) / hz / n * 1e6
            per[k].append(us)
            print(f"write-cost: round {r + 1} {k}: {us:.0f} us of API server CPU a request "
                  f"({n} in {w1 - w0:.1f} s)", flush=True)
    for k in kinds:
        print(f"write-cost: {k}: mean {sum(per[k]) / len(per[k]):.0f} us a request "
              f"({', '.join(f'{x:.0f}' for x in per[k])})")
    c.req("DELETE", f"/api/v1/namespaces/{ns}")


if __name__ == "__main__":
    main()
