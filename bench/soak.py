#!/usr/bin/env python3
"""A faulted soak of one `funding-ledger serve` (issue 19); not run in CI.

Starts BUILD_DIR/funding-ledger serve with its data directory on a tmpfs of
its own (so that the log's disk can be filled on purpose), creates posts and
keeps a mixed load on it for --minutes (default 30):

  funders    POST fundings with a fresh Idempotency-Key each, retried with
             the same key until a 201; every acknowledged key is recorded
             with its X-Ledger-Position
  cancellers cancel some of their own acknowledged fundings
  readers    list, search and detail reads
  streams    clients of /api/events/stream, reconnecting with Last-Event-ID

while faults come in turn, one every --fault-every seconds (default 60):

  pg-restart  the embedded PostgreSQL restarted (pg_ctl restart -m fast)
  pg-pause    every process of that cluster stopped (SIGSTOP) for 5 s
  disk-full   the tmpfs filled to the last byte for --full-seconds (10),
              then freed

Every 10 s it samples the server's RSS, open descriptors and threads. At
the end the load stops, every acknowledged key must be in the log once, at
its position (the `events` tool), and `verify` must pass on the stopped
data directory. Prints a Markdown report; exits 1 on a loss, a failed
verify, or growth of RSS, descriptors or threads beyond --growth-limit
between the first and last quarter of the run. Python 3 standard library
only; run as root (tmpfs mount, PostgreSQL as the postgres user).

    bench/soak.py BUILD_DIR [--minutes M] [--fault-every S] [--full-seconds S]
                  [--size-mib N]
"""

import argparse
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

SECRET = "soak-secret-soak-secret-soak-secret"


def proc_status(pid):
    values = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            values[key] = rest.strip()
    if "VmRSS" not in values:  # a zombie: the server has exited
        raise OSError("the server has exited")
    return (int(values["VmRSS"].split()[0]) // 1024, len(os.listdir("/proc/%d/fd" % pid)),
            int(values["Threads"]))


class Soak:
    def __init__(self, a):
        self.a = a
        self.binary = os.path.join(a.build_dir, "funding-ledger")
        self.mnt = tempfile.mkdtemp(prefix="ledger-soak-", dir="/tmp")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0711" % a.size_mib,
                        "tmpfs", self.mnt], check=True)
        self.data = os.path.join(self.mnt, "data")
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acks = {}        # key -> position
        self.answers = {}     # (kind, status) -> count
        self.cancelled = 0
        self.samples = []     # (t, rss MiB, fds, threads)
        self.log_metrics = {}  # the event log's counters at the end
        self.faults = []      # (t, name, note)
        self.stream_events = 0
        self.server = None
        self.port = None
        self.posts = []
        self.run_id = uuid.uuid4().hex[:8]
        self.exited = None    # (t, exit code) when the server died during the run

    # -- the server

    def start_server(self):
        self.out = open("/tmp/ledger-soak-serve-%s.out" % self.run_id, "w+")
        self.err = open("/tmp/ledger-soak-serve-%s.log" % self.run_id, "w")
        self.server = subprocess.Popen(
            [self.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data,
             "--jwt-secret", SECRET, "--log-level", "warn", "--write-rate", "0",
             "--max-connections-per-address", "0"],
            stdout=self.out, stderr=self.err)
        for _ in range(600):
            self.out.seek(0)
            m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", self.out.read())
            if m:
                self.port = int(m.group(1))
                return
            if self.server.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit("soak: serve did not start (log: %s)" % self.err.name)

    def token(self, sub):
        p = subprocess.run([self.binary, "token", "--jwt-secret", SECRET, "--data-dir", self.data,
                            "--sub", sub, "--ttl", str(7 * 24 * 3600)],
                           capture_output=True, text=True, check=True)
        return p.stdout.strip()

    def call(self, method, path, body=None, token=None, headers=None, timeout=10):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            h["Content-Type"] = "application/json"
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, r.read().decode(errors="replace"), r
        finally:
            c.close()

    def count(self, kind, status):
        with self.lock:
            self.answers[(kind, status)] = self.answers.get((kind, status), 0) + 1

    # -- the load

    def funder(self, i, token):
        rng = random.Random(i)
        seq = 0
        mine = []
        while not self.stop.is_set():
            seq += 1
            key = "soak-%s-f%d-%d" % (self.run_id, i, seq)
            post = rng.choice(self.posts)
            while not self.stop.is_set():
                try:
                    status, body, r = self.call("POST", "/api/posts/%d/fundings" % post, "{}", token,
                                                {"Idempotency-Key": key})
                except OSError as e:
                    self.count("fund", type(e).__name__)
                    time.sleep(0.2)
                    continue
                self.count("fund", status)
                if status == 201:
                    position = int(r.getheader("X-Ledger-Position"))
                    with self.lock:
                        self.acks[key] = position
                    mine.append((post, position))
                    break
                time.sleep(0.2)
            # Now and then, take one of our fundings back.
            if mine and rng.random() < 0.1:
                post, position = mine.pop(rng.randrange(len(mine)))
                try:
                    status, _, _ = self.call("DELETE", "/api/posts/%d/fundings/%d" % (post, position),
                                             token=token)
                    self.count("cancel", status)
                except OSError as e:
                    self.count("cancel", type(e).__name__)

    def reader(self, i):
        rng = random.Random(1000 + i)
        while not self.stop.is_set():
            choice = rng.random()
            path = ("/api/posts?limit=20" if choice < 0.4 else
                    "/api/posts?search=%%EC%%86%%8C%%ED%%81%%AC&limit=20" if choice < 0.6 else
                    "/api/posts/%d" % rng.choice(self.posts))
            try:
                status, _, _ = self.call("GET", path)
                self.count("read", status)
            except OSError as e:
                self.count("read", type(e).__name__)
                time.sleep(0.2)

    def streamer(self, i):
        last = None
        while not self.stop.is_set():
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                headers = {"Last-Event-ID": str(last)} if last is not None else {}
                c.request("GET", "/api/events/stream", headers=headers)
                r = c.getresponse()
                self.count("stream", r.status)
                if r.status != 200:
                    c.close()
                    time.sleep(1)
                    continue
                while not self.stop.is_set():
                    line = r.fp.readline()
                    if not line:
                        break
                    if line.startswith(b"id: "):
                        last = int(line[4:].strip())
                        with self.lock:
                            self.stream_events += 1
                c.close()
            except (OSError, http.client.HTTPException, ValueError) as e:
                self.count("stream", type(e).__name__)
                time.sleep(1)

    # -- faults

    def pg_pids(self):
        pid_file = os.path.join(self.data, "pg", "cluster", "postmaster.pid")
        with open(pid_file) as f:
            postmaster = int(f.readline())
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True,
                                  text=True).stdout.split()
        return [postmaster] + [int(c) for c in children]

    def fault(self, name):
        t = time.monotonic() - self.t0
        if name == "pg-restart":
            # The new postmaster must not inherit a pipe of ours (run would
            # wait for it to close): its output goes to a file.
            p = subprocess.run(["runuser", "-u", "postgres", "--", self.pg_ctl, "restart", "-m",
                                "fast", "-w", "-D", os.path.join(self.data, "pg", "cluster"),
                                "-l", "/tmp/ledger-soak-pg-%s.log" % self.run_id],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            note = "exit %d" % p.returncode
        elif name == "pg-pause":
            pids = self.pg_pids()
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
            time.sleep(5)
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
            note = "%d processes for 5 s" % len(pids)
        else:
            filler = os.path.join(self.mnt, "filler")
            subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=1M"], capture_output=True)
            free = shutil.disk_usage(self.mnt).free
            time.sleep(self.a.full_seconds)
            os.unlink(filler)
            note = "%d bytes left for %d s" % (free, self.a.full_seconds)
        self.faults.append((t, name, note))

    def stop_postgres(self):
        cluster = os.path.join(self.data, "pg", "cluster")
        if os.path.exists(os.path.join(cluster, "postmaster.pid")):
            subprocess.run(["runuser", "-u", "postgres", "--", self.pg_ctl, "stop", "-m", "fast",
                            "-w", "-D", cluster], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sampler(self):
        while not self.stop.is_set():
            if self.server.poll() is not None and self.exited is None:
                self.exited = (time.monotonic() - self.t0, self.server.returncode)
            try:
                self.samples.append((time.monotonic() - self.t0,) + proc_status(self.server.pid))
            except (OSError, KeyError):  # gone, or a zombie without VmRSS
                pass
            self.stop.wait(10)

    # -- the run

    def run(self):
        a = self.a
        self.pg_ctl = subprocess.run(["bash", "-c", "ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1"],
                                     capture_output=True, text=True).stdout.strip()
        self.start_server()
        owner = self.token("soak-owner")
        for n in range(20):
            body = json.dumps({"title": "소크 %d" % n, "uploader": "soak", "description": "soak",
                               "target_amount": 10 ** 12, "funding_unit": 1000,
                               "end_date": "2030-12-31"})
            status, text, _ = self.call("POST", "/api/posts", body, owner)
            if status != 201:
                raise SystemExit("soak: create failed: %d %s" % (status, text))
            self.posts.append(json.loads(text)["id"])
        self.t0 = time.monotonic()
        threads = [threading.Thread(target=self.sampler)]
        for i in range(a.funders):
            threads.append(threading.Thread(target=self.funder, args=(i, self.token("soak-%d" % i))))
        for i in range(a.readers):
            threads.append(threading.Thread(target=self.reader, args=(i,)))
        for i in range(a.streams):
            threads.append(threading.Thread(target=self.streamer, args=(i,)))
        for t in threads:
            t.start()
        end = self.t0 + a.minutes * 60
        kinds = ["pg-restart", "pg-pause", "disk-full"]
        k = 0
        while time.monotonic() + a.fault_every < end:
            time.sleep(a.fault_every)
            self.fault(kinds[k % len(kinds)])
            k += 1
        time.sleep(max(0, end - time.monotonic()))
        self.stop.set()
        for t in threads:
            t.join(60)
        self.read_log_metrics()
        return self.audit()

    def read_log_metrics(self):
        # Whether the disk-full faults reached the event log (RocksDB's
        # preallocated write-ahead log can absorb a short one).
        self.log_metrics = {}
        try:
            status, text, _ = self.call("GET", "/metrics")
        except OSError:
            return
        if status != 200:
            return
        for name in ('ledger_log_write_failures_total{cause="no_space"}',
                     'ledger_log_write_failures_total{cause="waiting"}',
                     "ledger_log_resume_attempts_total"):
            m = re.search("^" + re.escape(name) + r" (\S+)$", text, re.M)
            if m:
                self.log_metrics[name] = int(float(m.group(1)))

    def audit(self):
        # Stop the server, then read the log with the tools. A server that
        # died left its PostgreSQL running: stop that too.
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            self.server.wait(180)
        self.stop_postgres()
        p = subprocess.run([self.binary, "events", "--data-dir", self.data],
                           capture_output=True, text=True, timeout=3600)
        seen = {}
        for line in p.stdout.splitlines():
            e = json.loads(line)
            k = e.get("idempotency_key")
            if k and k.startswith("soak-%s-" % self.run_id):
                seen.setdefault(k, []).append(e["position"])
        lost = [k for k in self.acks if k not in seen]
        misplaced = [k for k, pos in self.acks.items() if k in seen and seen[k] != [pos]]
        v = subprocess.run([self.binary, "verify", "--data-dir", self.data],
                           capture_output=True, text=True, timeout=3600)
        return lost, misplaced, p.returncode, v

    def report(self, lost, misplaced, events_exit, v):
        a = self.a
        print("## Soak: %d minutes, %d funders, %d readers, %d streams, a fault every %d s\n" %
              (a.minutes, a.funders, a.readers, a.streams, a.fault_every))
        print("| answers | count |\n|---|---:|")
        for (kind, status), n in sorted(self.answers.items(), key=lambda x: (x[0][0], str(x[0][1]))):
            print("| %s %s | %d |" % (kind, status, n))
        print("\nstream events received: %d\n" % self.stream_events)
        print("| fault at s | fault | note |\n|---:|---|---|")
        for t, name, note in self.faults:
            print("| %.0f | %s | %s |" % (t, name, note))
        q = max(1, len(self.samples) // 4)
        first, last = self.samples[:q], self.samples[-q:]
        print("\n| sample | first quarter (max) | last quarter (max) | whole run (min … max) |")
        print("|---|---:|---:|---|")
        failures = []
        for col, name in ((1, "RSS MiB"), (2, "open fds"), (3, "threads")):
            f = max(s[col] for s in first)
            l = max(s[col] for s in last)
            lo = min(s[col] for s in self.samples)
            hi = max(s[col] for s in self.samples)
            print("| %s | %d | %d | %d … %d |" % (name, f, l, lo, hi))
            if l > f * (1 + a.growth_limit) + 16:
                failures.append("%s grew from %d to %d" % (name, f, l))
        if self.log_metrics:
            print("\nevent log at the end: " +
                  "; ".join("%s %d" % kv for kv in self.log_metrics.items()))
        print("\nacknowledged fundings: %d; lost: %d; misplaced: %d; events exit %d; verify exit %d"
              % (len(self.acks), len(lost), len(misplaced), events_exit, v.returncode))
        if v.returncode != 0:
            failures.append("verify failed: " + v.stdout[-500:] + v.stderr[-500:])
        if self.exited is not None:
            failures.append("the server exited at %.0f s with status %d (its log: %s)" %
                            (self.exited[0], self.exited[1], self.err.name))
        if lost or misplaced or events_exit != 0:
            failures.append("acknowledged fundings lost or misplaced")
        for f in failures:
            print("FAIL: " + f)
        return 1 if failures else 0

    def cleanup(self):
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(180)
            except subprocess.TimeoutExpired:
                self.server.kill()
        if hasattr(self, "pg_ctl"):
            self.stop_postgres()
        self.out.close()
        self.err.close()
        subprocess.run(["umount", self.mnt])
        shutil.rmtree(self.mnt, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build_dir")
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--fault-every", type=int, default=60)
    p.add_argument("--full-seconds", type=int, default=10,
                   help="how long a disk-full fault keeps the file system full (10)")
    p.add_argument("--size-mib", type=int, default=2048)
    p.add_argument("--funders", type=int, default=8)
    p.add_argument("--readers", type=int, default=4)
    p.add_argument("--streams", type=int, default=8)
    p.add_argument("--growth-limit", type=float, default=0.25,
                   help="allowed growth of RSS, fds and threads, last quarter over first (0.25)")
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soak = Soak(a)
    try:
        lost, misplaced, events_exit, v = soak.run()
        code = soak.report(lost, misplaced, events_exit, v)
    finally:
        soak.cleanup()
    sys.exit(code)


if __name__ == "__main__":
    main()
