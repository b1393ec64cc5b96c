#!/usr/bin/env python3
"""tests/soak/faultproxy.py -- a TLS reverse proxy in front of kube-apiserver
that injects faults on demand, for the soak harness.

Usage: faultproxy.py PORT CERT KEY UPSTREAM_URL CA CLIENT_CERT CLIENT_KEY MODE_FILE STATS_FILE

Clients (the controllers under test) connect to https://127.0.0.1:PORT with a
certificate that the cluster CA signed; the proxy forwards every request to
UPSTREAM_URL as the admin client certificate.  HTTP/1.1 only (no h2 in ALPN).

MODE_FILE holds one word, re-read every 0.2 s:
  ok    forward everything;
  fail  every write (POST, PUT, PATCH, DELETE) is answered 429 (Retry-After: 1)
        or 500, alternately, with a Kubernetes Status body; reads pass;
  gone  every open watch is cut, and every new watch gets one ERROR event with
        code 410 (Expired): the clients must relist;
  slowlease MS
        every request on a Lease waits MS milliseconds before it is forwarded
        (a slow API server, as leader election sees it); others pass.
STATS_FILE gets "requests N injected_429 N injected_500 N injected_410 N
watches_cut N delayed_lease N" after every change.
"""
import http.client
import http.server
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

PORT, CERT, KEY, UPSTREAM, CA, CCERT, CKEY, MODE_FILE, STATS_FILE = sys.argv[1:10]
UP = urllib.parse.urlsplit(UPSTREAM)
UP_CTX = ssl.create_default_context(cafile=CA)
UP_CTX.load_cert_chain(CCERT, CKEY)
UP_CTX.set_alpn_protocols(["http/1.1"])

lock = threading.Lock()
mode = "ok"
stats = {"requests": 0, "injected_429": 0, "injected_500": 0, "injected_410": 0, "watches_cut": 0,
         "delayed_lease": 0}
watches = set()  # (client socket, upstream connection) of open watches
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "host", "content-length", "authorization"}


def bump(key):
    # Under the lock: two handler threads writing the same .tmp file made
    # one rename fail, which dropped that request and, in control(), killed
    # the thread that reads MODE_FILE (the proxy then stayed in "gone").
    with lock:
        stats[key] += 1
        text = " ".join("%s %d" % kv for kv in stats.items())
        with open(STATS_FILE + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(STATS_FILE + ".tmp", STATS_FILE)


def status_body(code, reason, message):
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}).encode()


def control():
    global mode
    while True:
        try:
            with open(MODE_FILE) as f:
                m = f.read().strip() or "ok"
        except OSError:
            m = "ok"
        if m != mode:
            with lock:
                mode = m
                cut = list(watches) if m == "gone" else []
            for client, up in cut:
                for s in (client, up.sock):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except (OSError, AttributeError):
                        pass
                bump("watches_cut")
        time.sleep(0.2)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def upstream(self):
        return http.client.HTTPSConnection(UP.hostname, UP.port, context=UP_CTX, timeout=600)

    def handle_any(self):
        bump("requests")
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        is_watch = q.get("watch", [""])[0] in ("true", "1")
        with lock:
            m = mode
        if m.startswith("slowlease") and "/leases/" in self.path:
            time.sleep(int((m.split() + ["0"])[1]) / 1000.0)
            bump("delayed_lease")
        if m == "fail" and self.command in ("POST", "PUT", "PATCH", "DELETE"):
            if stats["injected_429"] <= stats["injected_500"]:
                bump("injected_429")
                return self.reply(429, status_body(429, "TooManyRequests", "injected by faultproxy"),
                                  [("Retry-After", "1")])
            bump("injected_500")
            return self.reply(500, status_body(500, "InternalError", "injected by faultproxy"))
        if m == "gone" and is_watch:
            bump("injected_410")
            ev = json.dumps({"type": "ERROR", "object": json.loads(status_body(
                410, "Expired", "too old resource version (injected by faultproxy)"))}).encode() + b"\n"
            self.close_connection = True
            return self.reply(200, ev, [("Connection", "close")])
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        # A new upstream connection per request: nothing stale survives an
        # API server restart.
        conn = self.upstream()
        try:
            conn.request(self.command, self.path, body, headers)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException):
            # API server down: the client sees its connection closed
            conn.close()
            self.close_connection = True
            return
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        if not is_watch:
            data = resp.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        key = (self.connection, conn)
        with lock:
            watches.add(key)
        try:
            while True:
                data = resp.read1(65536)
                if not data:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException, ValueError):
            self.close_connection = True
        finally:
            with lock:
                watches.discard(key)
            conn.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = Server(("127.0.0.1", int(PORT)), Handler)
    # the handshake happens in the handler thread (on the first read), so a
    # slow client does not hold up accept()
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=control, daemon=True).start()
    bump("requests")
    stats["requests"] -= 1
    srv.serve_forever()


main()
