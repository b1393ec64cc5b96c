#!/usr/bin/env python3
"""tests/soak/review_load.py -- admission reviews sent straight to
snapshot-webhook, as the API server sends them, for SECONDS; every answer is
checked.

Usage: review_load.py URL CA_FILE SECONDS OUTFILE DRIVER DEFAULT_CLASS [fresh]

Alternates two VolumeSnapshotClass CREATE reviews for DRIVER: a default one,
which must be denied naming DEFAULT_CLASS (the cached default), and a plain
one, which must be allowed.  Requests go over one keep-alive connection that
is reopened when the server says "Connection: close" (or, with "fresh", over
a new connection each).  Writes "ok bad" to OUTFILE and every failure, one
line each, to OUTFILE.fail.
"""
import http.client
import json
import ssl
import sys
import time
import urllib.parse
import uuid


def review(driver, default):
    ann = {"snapshot.storage.kubernetes.io/is-default-class": "true"} if default else {}
    name = "load-%s" % uuid.uuid4().hex[:8]
    obj = {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
           "metadata": {"name": name, "annotations": ann}, "driver": driver,
           "deletionPolicy": "Delete"}
    gvr = {"group": "snapshot.storage.k8s.io", "version": "v1", "resource": "volumesnapshotclasses"}
    gvk = {"group": "snapshot.storage.k8s.io", "version": "v1", "kind": "VolumeSnapshotClass"}
    req = {"uid": str(uuid.uuid4()), "kind": gvk, "resource": gvr, "requestKind": gvk,
           "requestResource": gvr, "name": name, "operation": "CREATE",
           "userInfo": {"username": "load"}, "object": obj, "oldObject": None, "dryRun": True}
    return req["uid"], json.dumps({"apiVersion": "admission.k8s.io/v1",
                                   "kind": "AdmissionReview", "request": req})


def main():
    url, ca, secs, out, driver, default_class = sys.argv[1:7]
    fresh = len(sys.argv) > 7 and sys.argv[7] == "fresh"
    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca)
    conn = None
    ok = bad = 0
    fails = []
    end = time.monotonic() + float(secs)
    i = 0
    while time.monotonic() < end:
        default = i % 2 == 0
        i += 1
        uid, body = review(driver, default)
        try:
            if conn is None:
                conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
            conn.request("POST", "/validate-class", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            if fresh or resp.will_close:
                conn.close()
                conn = None
            ans = json.loads(data)["response"]
            want = not default
            if resp.status != 200 or ans["uid"] != uid or ans["allowed"] != want:
                raise ValueError("status %d allowed %s: %s" % (resp.status, ans.get("allowed"), data[:200]))
            if default and ("default snapshot class: %s already exists" % default_class) not in ans["status"]["message"]:
                raise ValueError("unexpected denial: %s" % ans["status"]["message"])
            ok += 1
        except Exception as e:  # every failure is counted and kept
            bad += 1
            fails.append("%.3f %s: %s" % (time.monotonic(), type(e).__name__, e))
            if conn is not None:
                conn.close()
            conn = None
    with open(out, "w") as f:
        f.write("%d %d\n" % (ok, bad))
    with open(out + ".fail", "w") as f:
        f.write("".join(x + "\n" for x in fails))


main()
