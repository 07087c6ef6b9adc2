#!/usr/bin/env python3
"""Connection floods against a real `funding-ledger serve` (issue 19).

Starts BUILD_DIR/funding-ledger serve on a free port with its default
connection limits (a fresh data directory under /tmp), then:

  1. opens HELD connections (default 10 000) from 40 loopback addresses
     (127.0.1.x, under the default cap of 256 per address): half send a head
     they never finish, half are answered once and stay idle; the server's
     VmRSS before and after gives the memory per held connection;
  2. measures a normal client on 127.0.0.1 beside them: REQUESTS GETs of
     /api/posts?limit=1, each on a fresh connection, and as many on one
     kept-alive connection (p50, p99, max, failures);
  3. closes them and floods from one address: 3 000 connections that send
     half a head, then measures the normal client again while the address's
     cap turns the flood away and the head deadline closes the rest.

Prints a Markdown table. The head deadline is stretched to 120 s for step 1
(so that the slow heads stay open while the client is measured) and left at
its default (5 s) for step 3.

    bench/http/flood.py BUILD_DIR [--held N] [--requests N]
"""

import argparse
import http.client
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SECRET = "bench-secret-bench-secret-bench-secret"


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft < needed:
        sys.exit("flood.py: the open-file limit is %d; %d are needed (ulimit -n)" % (soft, needed))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    def __init__(self, binary, extra):
        self.dir = tempfile.mkdtemp(prefix="ledger-flood-", dir="/tmp")
        os.chmod(self.dir, 0o711)
        self.out = open(os.path.join(self.dir, "stdout"), "w+")
        self.err = open(os.path.join(self.dir, "stderr"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.dir + "/data",
             "--jwt-secret", SECRET, "--log-level", "warn"] + extra,
            stdout=self.out, stderr=self.err)
        self.port = None
        for _ in range(600):
            self.out.seek(0)
            m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", self.out.read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        if self.port is None:
            self.stop()
            sys.exit("flood.py: serve did not start")
        for _ in range(600):  # the read tables exist once /readyz says so
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(120)
        shutil.rmtree(self.dir, ignore_errors=True)


def connect(port, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_head(s):
    s.settimeout(10)
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    return got


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def normal_client(port, requests):
    """Latencies (ms) of fresh-connection GETs, then kept-alive GETs; failures."""
    fresh, kept, failures = [], [], 0
    for _ in range(requests):
        t0 = time.perf_counter()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/api/posts?limit=1")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status != 200:
                failures += 1
        except OSError:
            failures += 1
        fresh.append((time.perf_counter() - t0) * 1000)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(requests):
        t0 = time.perf_counter()
        try:
            c.request("GET", "/api/posts?limit=1")
            r = c.getresponse()
            r.read()
            if r.status != 200:
                failures += 1
        except (OSError, http.client.HTTPException):
            failures += 1
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        kept.append((time.perf_counter() - t0) * 1000)
    return sorted(fresh), sorted(kept), failures


def row(name, fresh, kept, failures, note=""):
    return "| %s | %.2f / %.2f / %.2f | %.2f / %.2f / %.2f | %d | %s |" % (
        name, percentile(fresh, 0.5), percentile(fresh, 0.99), fresh[-1],
        percentile(kept, 0.5), percentile(kept, 0.99), kept[-1], failures, note)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build_dir")
    p.add_argument("--held", type=int, default=10000)
    p.add_argument("--requests", type=int, default=1000)
    a = p.parse_args()
    binary = os.path.join(a.build_dir, "funding-ledger")
    raise_fd_limit(a.held + 4096)
    rows = []

    server = Server(binary, ["--head-timeout-ms", "120000"])
    try:
        fresh, kept, failures = normal_client(server.port, a.requests)
        rows.append(row("alone", fresh, kept, failures))
        before = rss_kib(server.proc.pid)
        held = []
        addresses = 40
        per_address = (a.held + addresses - 1) // addresses
        for i in range(a.held):
            s = connect(server.port, "127.0.1.%d" % (i // per_address + 1))
            if i % 2 == 0:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: flood\r\nX-Slow: ")
            else:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: flood\r\n\r\n")
                if not read_head(s).startswith(b"HTTP/1.1 200"):
                    sys.exit("flood.py: a held connection was not served")
            held.append(s)
        time.sleep(1)
        after = rss_kib(server.proc.pid)
        fresh, kept, failures = normal_client(server.port, a.requests)
        rows.append(row("beside %d held connections" % a.held, fresh, kept, failures,
                        "server VmRSS %d → %d MiB: %.1f KiB per held connection" % (
                            before // 1024, after // 1024, (after - before) / a.held)))
        for s in held:
            s.close()
    finally:
        server.stop()

    server = Server(binary, [])
    try:
        flood = []
        for _ in range(3000):
            try:
                s = connect(server.port, "127.0.2.1")
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: flood\r\n")
                flood.append(s)
            except OSError:
                pass
        fresh, kept, failures = normal_client(server.port, a.requests)
        rows.append(row("during 3 000 half-open from one address", fresh, kept, failures,
                        "256 held by the address's cap, the rest turned away"))
        for s in flood:
            s.close()
    finally:
        server.stop()

    print("| normal client | fresh connection p50 / p99 / max ms | kept-alive p50 / p99 / max ms "
          "| failures | |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
