#!/usr/bin/env python3
"""Failover harness for the ledger cluster (issue 16).

Starts a local cluster with ops/cluster (etcd, three PostgreSQL members under
Patroni in strict synchronous mode, three ledger nodes), creates a post and
funds it from K client threads for the whole run. Each client sends every
funding with a fresh Idempotency-Key, to the ledger nodes in turn, and sends
it again with the same key (50 ms apart, to the next node) until a 201
answers; every acknowledged key is recorded with its X-Ledger-Position and
its body. Meanwhile, round after round, one fault is injected:

  primary   kill -9 of the PostgreSQL primary's postmaster
  patroni   kill -9 of the primary's Patroni (its PostgreSQL keeps running),
            and Patroni started again once another member leads
  node      kill -9 of the sequencing ledger node, started again once
            another node took the writes over
  standby   kill -9 of the synchronous standby's postmaster
  zombie    SIGSTOP of the sequencing ledger node for its lease plus 2 s,
            then SIGCONT

and the write stall is measured: the longest gap between two consecutive
201 answers (over all clients) from the last one before the fault until the
cluster is healthy again (one leader, every standby streaming, a synchronous
one, every Patroni and ledger node running, every node answering GET
/readyz and naming the same sequencer) and writes flow. Then the harness
waits a little for every node's /readyz to be 200; a node that stays 503 is
reported (WARN) with the problems it names, and the rounds go on.

At the end the load stops; every node should then be ready with its read
tables projected up to the log's head (else WARN). Every PostgreSQL member
is audited on its own port: each acknowledged key is in the log exactly
once, at the acknowledged position (the `events` tool), no key of this run
is there twice, and the hash chain verifies (`verify --chain-only`). A
sample of acknowledged keys is sent once more: each must answer 201,
Idempotent-Replayed: true, with the same body and position. Prints a
summary; exits 1 on any loss, duplicate, chain failure, replay mismatch or
a cluster that did not recover, 2 on a setup error. The cluster is stopped
(ops/cluster down) whatever happens.

Python 3 standard library only. Run as root or as a user that may run
PostgreSQL; see ops/cluster help.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPS_CLUSTER = os.path.join(REPO_ROOT, "ops", "cluster")
FAULTS = ("primary", "patroni", "node", "standby", "zombie")

# Client side.
RETRY_BACKOFF = 0.05       # between two sends of one key
REQUEST_TIMEOUT = 15.0     # above the nodes' forward timeout (10 s)
# Cluster side (seconds).
NEW_LEADER_LIMIT = 60      # patroni: until another member leads
TAKEOVER_LIMIT = 30        # node: until another node sequences
RECOVERY_LIMIT = 120       # every round: until the cluster is healthy again
FLOWING_ACKS = 20          # writes flow: this many 201s after the repair...
FLOWING_RECENT = 0.5       # ...the newest at most this old
REPLICA_CATCH_UP = 30      # audit: a standby may still replay the last commits
READY_LIMIT = 30           # then until every node's GET /readyz is 200
READ_SIDE_LIMIT = 60       # after the load: until every node's projector is at the head
REPLAY_SAMPLE = 50


class SetupError(Exception):
    pass


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class Cluster:
    """ops/cluster on one directory."""

    def __init__(self, directory, binary):
        self.dir = directory
        self.binary = binary
        self.nodes = []    # [(id, url)]
        self.members = []  # [(name, port)]
        self.healthy_view = {}  # leader, sequencer, epoch when last found healthy

    def run(self, *args, timeout=300, check=True):
        cmd = [OPS_CLUSTER, args[0], "--dir", self.dir] + list(args[1:])
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (exit %d): %s" % (
                " ".join(cmd[1:2] + list(args[1:])), p.returncode, p.stderr.strip()[-2000:]))
        return p

    def up(self):
        p = self.run("up", "--binary", self.binary, timeout=600, check=False)
        if p.returncode != 0:
            raise SetupError("ops/cluster up failed:\n" + p.stderr[-4000:])
        for line in p.stdout.splitlines():
            f = line.split()
            if f[:1] == ["node"]:
                self.nodes.append((f[1], f[2]))
            elif f[:1] == ["member"]:
                self.members.append((f[1], int(f[2].rsplit(":", 1)[1])))
        if not self.nodes or not self.members:
            raise SetupError("ops/cluster up printed no node or member lines:\n" + p.stdout)

    def down(self):
        p = self.run("down", timeout=300, check=False)
        if p.returncode != 0:
            log("ops/cluster down failed:\n" + p.stderr[-4000:])
        return p.returncode == 0

    def status(self):
        p = self.run("status", "--json", timeout=60, check=False)
        if p.returncode != 0:
            return None
        try:
            return json.loads(p.stdout)
        except ValueError:
            return None

    def leader(self):
        s = self.status()
        for m in (s or {}).get("postgres", []):
            if m["role"] == "primary" and m["state"] == "running":
                return m["name"]
        return None


def http_json(url, method="GET", body=None, headers=None, timeout=3.0):
    """(status, headers dict, body text) or None on a connection error."""
    host = url.split("//", 1)[1].split("/", 1)[0]
    path = "/" + url.split("//", 1)[1].split("/", 1)[1] if url.count("/") > 2 else "/"
    conn = http.client.HTTPConnection(host, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode(errors="replace")
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def readyz_all(nodes):
    """{id: GET /readyz} of every node, asked at once: the body's fields
    (cluster, problems, log_position, projector_position) plus "code", the
    status (None when the node does not answer)."""
    out = {}

    def ask(node_id, url):
        r = http_json(url + "/readyz", timeout=2.0)
        body = {}
        if r is not None:
            try:
                body = json.loads(r[2])
            except ValueError:
                pass
        body.setdefault("cluster", {})
        body.setdefault("problems", [])
        body["code"] = r[0] if r is not None else None
        out[node_id] = body

    threads = [threading.Thread(target=ask, args=n) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def unhealthy(cluster):
    """Why the cluster is not healthy yet, or None: one running leader, every
    other member running and streaming from it, one synchronous; every
    Patroni and ledger node running; every node answering GET /readyz and
    naming the same sequencer, which says it sequences. (Whether each node
    is also ready, 200, is waited for and reported apart: a node that stays
    503 is a finding, and the next round can run beside it.)"""
    s = cluster.status()
    if s is None:
        return "ops/cluster status failed"
    members = s["postgres"]
    leaders = [m for m in members if m["role"] == "primary" and m["state"] == "running"]
    if len(leaders) != 1:
        return "a leader (%s)" % ", ".join("%s %s/%s" % (m["name"], m["role"], m["state"]) for m in members)
    for m in members:
        if m["patroni_pid"] is None:
            return "Patroni of %s" % m["name"]
        if m is leaders[0]:
            continue
        if m["state"] != "running" or m["replication_state"] != "streaming":
            return "%s to stream (%s, %s)" % (m["name"], m["state"], m["replication_state"])
    if not any(m["role"] == "sync_standby" and m["sync_state"] == "sync" for m in members):
        return "a synchronous standby"
    for n in s["ledger"]:
        if n["pid"] is None:
            return "ledger node %s to run" % n["node"]
    ready = readyz_all(cluster.nodes)
    epochs = set()
    sequencers = []
    for node_id, r in sorted(ready.items()):
        c = r["cluster"]
        if r["code"] is None:
            return "ledger node %s to answer GET /readyz" % node_id
        epochs.add((c.get("leader"), c.get("lease_epoch")))
        if c.get("role") == "sequencer":
            sequencers.append(node_id)
    if len(epochs) != 1 or not next(iter(epochs))[0]:
        return "the nodes to agree on the sequencer (%s)" % sorted(epochs, key=str)
    if len(sequencers) != 1 or sequencers[0] != next(iter(epochs))[0]:
        return "one sequencing node (%s)" % sequencers
    cluster.healthy_view = {"leader": leaders[0]["name"], "timeline": leaders[0]["timeline"],
                            "sequencer": sequencers[0], "lease_epoch": next(iter(epochs))[1]}
    return None


def not_ready(cluster):
    """{node id: "STATUS: problems"} of the nodes whose GET /readyz is not 200."""
    return {node_id: "%s: %s" % (r["code"], "; ".join(r["problems"]) or "-")
            for node_id, r in sorted(readyz_all(cluster.nodes).items()) if r["code"] != 200}


class Load:
    """K clients funding one post, retrying each key until it is acknowledged."""

    def __init__(self, nodes, post_id, tokens, run_id):
        self.nodes = nodes
        self.post_id = post_id
        self.tokens = tokens
        self.run_id = run_id
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acks = {}        # key -> {position, body, client, node, t}
        self.ack_times = []   # monotonic time of every 201, in arrival order
        self.answers = {}     # status code (or error class) -> count, all sends
        self.first_sends = 0  # keys sent at least once
        self.threads = []
        self.bodies = {}      # key -> request body (for the replays)

    def start(self):
        for i in range(len(self.tokens)):
            t = threading.Thread(target=self.client, args=(i,), name="client-%d" % i, daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(REQUEST_TIMEOUT + 5)
        return [t.name for t in self.threads if t.is_alive()]

    def count(self, what):
        with self.lock:
            self.answers[what] = self.answers.get(what, 0) + 1

    def acks_since(self, t0):
        with self.lock:
            n = 0
            for t in reversed(self.ack_times):
                if t < t0:
                    break
                n += 1
            last = self.ack_times[-1] if self.ack_times else None
        return n, last

    def client(self, i):
        conns = {}
        token = self.tokens[i]
        path = "/api/posts/%d/fundings" % self.post_id
        body = json.dumps({"units": 1})
        node = i % len(self.nodes)
        seq = 0
        while not self.stop.is_set():
            seq += 1
            key = "fo-%s-c%d-%d" % (self.run_id, i, seq)
            headers = {"Authorization": "Bearer " + token, "Idempotency-Key": key,
                       "Content-Type": "application/json"}
            with self.lock:
                self.first_sends += 1
                self.bodies[key] = body
            while not self.stop.is_set():
                node_id, url = self.nodes[node]
                node = (node + 1) % len(self.nodes)
                conn = conns.get(node_id)
                if conn is None:
                    conn = http.client.HTTPConnection(url.split("//", 1)[1], timeout=REQUEST_TIMEOUT)
                    conns[node_id] = conn
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    r = conn.getresponse()
                    text = r.read().decode(errors="replace")
                    status = r.status
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    conns.pop(node_id, None)
                    self.count(type(e).__name__)
                    time.sleep(RETRY_BACKOFF)
                    continue
                self.count(status)
                if status == 201:
                    now = time.monotonic()
                    position = r.getheader("X-Ledger-Position")
                    with self.lock:
                        self.acks[key] = {"position": int(position) if position else None,
                                          "body": text, "client": i, "node": node_id,
                                          "replayed": r.getheader("Idempotent-Replayed") == "true",
                                          "t": now}
                        self.ack_times.append(now)
                    break
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conns.pop(node_id, None)
                time.sleep(RETRY_BACKOFF)
        for conn in conns.values():
            conn.close()


def max_gap(times, t_from, t_to):
    """The longest gap between consecutive times, from the last time before
    t_from up to t_to (a gap still open at t_to counts up to t_to)."""
    times = sorted(times)
    before = [t for t in times if t < t_from]
    window = ([before[-1]] if before else [t_from]) + [t for t in times if t_from <= t <= t_to]
    gap = 0.0
    for a, b in zip(window, window[1:]):
        gap = max(gap, b - a)
    return max(gap, t_to - window[-1]) if window else t_to - t_from


class Harness:
    def __init__(self, args):
        self.args = args
        self.cluster = Cluster(args.dir, args.binary)
        self.run_id = uuid.uuid4().hex[:8]
        self.load = None
        self.rounds = []
        self.problems = []   # failures: the run exits 1
        self.warnings = []   # findings that do not fail the run (a node not ready)
        self.reported_not_ready = {}
        self.read_side = None
        self.audit = {}
        self.replays = {}

    # -- setup

    def token(self, sub):
        p = subprocess.run([self.args.binary, "token", "--sub", sub, "--data-dir",
                            os.path.join(self.args.dir, "node1")],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0 or not p.stdout.strip():
            raise SetupError("funding-ledger token failed: " + p.stderr.strip())
        return p.stdout.strip().split()[-1]

    def create_post(self, token):
        body = json.dumps({"title": "failover", "uploader": "harness", "description": "failover harness",
                           "target_amount": 100000000, "funding_unit": 1000, "end_date": "2030-12-31"})
        key = "fo-%s-post" % self.run_id
        deadline = time.monotonic() + 60
        k = 0
        while time.monotonic() < deadline:
            node_id, url = self.cluster.nodes[k % len(self.cluster.nodes)]
            k += 1
            r = http_json(url + "/api/posts", "POST", body,
                          {"Authorization": "Bearer " + token, "Idempotency-Key": key,
                           "Content-Type": "application/json"}, timeout=REQUEST_TIMEOUT)
            if r and r[0] == 201:
                return int(json.loads(r[2])["id"])
            time.sleep(0.2)
        raise SetupError("could not create the post: last answer %s" % (r,))

    # -- waiting

    def wait_flowing(self, since, limit):
        """Until FLOWING_ACKS 201s arrived after `since`, the newest recent."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            n, last = self.load.acks_since(since)
            if n >= FLOWING_ACKS and last is not None and time.monotonic() - last <= FLOWING_RECENT:
                return True
            time.sleep(0.05)
        return False

    def wait_healthy(self, limit):
        deadline = time.monotonic() + limit
        reason = None
        while time.monotonic() < deadline:
            reason = unhealthy(self.cluster)
            if reason is None:
                return None
            time.sleep(0.5)
        return reason

    def wait_ready(self, limit):
        """Until every node's /readyz is 200; {} then, else what the nodes
        that are not ready say. A node whose projector stopped does not
        recover on its own: it is not waited for."""
        deadline = time.monotonic() + limit
        while True:
            left = not_ready(self.cluster)
            if not left or time.monotonic() >= deadline or \
                    all("projector stopped" in v for v in left.values()):
                return left
            time.sleep(0.5)

    def wait_read_side(self, limit):
        """After the load: until every node is ready, at the log's head, and
        its projector position (the read tables' checkpoint it follows) is
        there too. Returns {node: what it last showed} of those that are not."""
        deadline = time.monotonic() + limit
        while True:
            ready = readyz_all(self.cluster.nodes)
            head = max((r.get("log_position") or 0) for r in ready.values())
            behind = {n: {"code": r["code"], "log_position": r.get("log_position"),
                          "projector_position": r.get("projector_position"), "problems": r["problems"]}
                      for n, r in sorted(ready.items())
                      if r["code"] != 200 or r.get("log_position") != head or r.get("projector_position") != head}
            stopped = all(any("projector stopped" in p for p in r["problems"]) for r in behind.values())
            if not behind or stopped or time.monotonic() >= deadline:
                return head, behind
            time.sleep(0.5)

    def wait_new_leader(self, old, limit):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            leader = self.cluster.leader()
            if leader is not None and leader != old:
                return leader
            time.sleep(0.2)
        return None

    def wait_new_sequencer(self, old, limit):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            for node_id, r in readyz_all([n for n in self.cluster.nodes if n[0] != old]).items():
                if r["cluster"].get("role") == "sequencer":
                    return node_id
            time.sleep(0.1)
        return None

    # -- faults

    def inject(self, kind, info):
        """Injects one fault and repairs what the cluster does not repair
        itself. Returns the monotonic time of the fault."""
        c = self.cluster
        if kind == "primary":
            t = time.monotonic()
            info["action"] = c.run("kill-primary").stdout.strip()
        elif kind == "standby":
            t = time.monotonic()
            info["action"] = c.run("kill-sync-standby").stdout.strip()
        elif kind in ("patroni", "node"):
            # Killed: the primary's Patroni, or the sequencing node; another
            # member must lead, or another node sequence, then it restarts.
            kill, repair, key, wait, limit = (
                (["kill-patroni-primary"], "restart-patroni", "new_leader",
                 self.wait_new_leader, NEW_LEADER_LIMIT)
                if kind == "patroni" else
                (["kill-node", "--sequencer"], "restart-node", "new_sequencer",
                 self.wait_new_sequencer, TAKEOVER_LIMIT))
            t = time.monotonic()
            out = c.run(*kill).stdout.strip()
            info["action"] = out
            victim = out.split()[3]
            info[key] = wait(victim, limit)
            info[key + "_after"] = round(time.monotonic() - t, 2)
            if info[key] is None:
                self.problems.append("round %d: nothing took over from %s within %ds after %s"
                                     % (info["round"], victim, limit, " ".join(kill)))
            info["repair"] = c.run(repair, victim).stdout.strip()
        elif kind == "zombie":
            t = time.monotonic()
            out = c.run("stop-node", "--sequencer").stdout.strip()
            info["action"] = out
            node_id = out.split()[3]
            pause = self.args.lease_ms / 1000.0 + 2.0
            time.sleep(max(0.0, t + pause - time.monotonic()))
            info["repair"] = c.run("cont-node", node_id).stdout.strip()
            info["paused"] = round(time.monotonic() - t, 2)
        else:
            raise ValueError(kind)
        return t

    def round(self, number, kind):
        info = {"round": number, "fault": kind, "wall_time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        with self.load.lock:
            before = dict(self.load.answers)
        log("round %d/%d: %s" % (number, self.args.rounds, kind))
        t_fault = self.inject(kind, info)
        log("  %s%s" % (info["action"], "; " + info["repair"] if info.get("repair") else ""))
        t_repaired = time.monotonic()
        flowing = self.wait_flowing(t_repaired, RECOVERY_LIMIT)
        t_flowing = time.monotonic()
        reason = self.wait_healthy(max(1.0, RECOVERY_LIMIT - (t_flowing - t_fault)))
        t_healthy = time.monotonic()
        # The writes may have paused again while the cluster healed (a
        # standby rejoining): the stall runs up to the moment it was healthy,
        # and writes flow after that.
        if reason is None:
            flowing = self.wait_flowing(t_healthy, 30) and flowing
            left = self.wait_ready(READY_LIMIT)
            info["ready_after_s"] = round(time.monotonic() - t_fault, 2)
            # How far each node's read tables trail its log (a few batches
            # under load; more when no projector runs).
            info["projector_lag"] = {n: (r.get("log_position") or 0) - (r.get("projector_position") or 0)
                                     for n, r in sorted(readyz_all(self.cluster.nodes).items())}
            if left:
                info["not_ready"] = left
            for node_id, why in left.items():
                # Once per node and finding (numbers aside), not again in
                # every round after.
                finding = re.sub(r"[0-9]+", "N", why)
                if self.reported_not_ready.get(node_id) != finding:
                    self.reported_not_ready[node_id] = finding
                    self.warnings.append("round %d (%s): node %s not ready %.0fs after the fault: %s" % (
                        number, kind, node_id, info["ready_after_s"], why))
        t_end = time.monotonic()
        with self.load.lock:
            times = list(self.load.ack_times)
            after = dict(self.load.answers)
        info["stall_s"] = round(max_gap(times, t_fault, t_healthy), 3)
        if reason is None:
            info["after"] = dict(self.cluster.healthy_view)
        info["healthy_after_s"] = round(t_healthy - t_fault, 2)
        info["acks_in_round"] = sum(1 for t in times if t_fault <= t <= t_end)
        info["answers"] = {str(k): after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        if not flowing:
            self.problems.append("round %d (%s): writes did not flow again" % (number, kind))
        if reason is not None:
            info["unhealthy"] = reason
            self.problems.append("round %d (%s): not healthy %ds after the fault: waiting for %s"
                                 % (number, kind, RECOVERY_LIMIT, reason))
        log("  stall %.2fs, healthy after %.1fs (%s), %d acknowledged in the round, answers %s" % (
            info["stall_s"], info["healthy_after_s"],
            " ".join("%s %s" % kv for kv in info.get("after", {}).items()),
            info["acks_in_round"], info["answers"]))
        if info.get("not_ready"):
            log("  not ready: %s" % info["not_ready"])
        if info.get("projector_lag"):
            log("  events not yet projected: %s" % " ".join("%s %d" % kv for kv in info["projector_lag"].items()))
        self.rounds.append(info)
        return reason is None and flowing

    # -- audit

    def audit_member(self, name, port, acks, tmp):
        url = "postgresql://postgres@127.0.0.1:%d/ledger" % port
        result = {"member": name, "port": port}
        deadline = time.monotonic() + REPLICA_CATCH_UP
        prefix = "fo-%s-" % self.run_id
        while True:
            data_dir = tempfile.mkdtemp(dir=tmp)
            out_path = os.path.join(tmp, "events-%s.ndjson" % name)
            with open(out_path, "w") as out:
                p = subprocess.run([self.args.binary, "events", "--log-url", url, "--data-dir", data_dir],
                                   stdout=out, stderr=subprocess.PIPE, text=True, timeout=600)
            seen = {}   # key -> [positions]
            events = 0
            with open(out_path) as f:
                for line in f:
                    if not line.strip():
                        continue
                    e = json.loads(line)
                    events += 1
                    k = e.get("idempotency_key")
                    if k and k.startswith(prefix):
                        seen.setdefault(k, []).append(e["position"])
            os.unlink(out_path)
            lost = [k for k in acks if k not in seen]
            # A standby acknowledges a commit once it has flushed it, and
            # shows it once it has replayed it: a little later.
            if (lost or p.returncode != 0) and time.monotonic() < deadline:
                time.sleep(1)
                continue
            break
        result["events_exit"] = p.returncode
        if p.returncode != 0:
            result["events_error"] = p.stderr.strip()[-1000:]
        result["events"] = events
        result["lost"] = sorted(lost)
        result["duplicated"] = sorted(k for k, v in seen.items() if len(v) > 1)
        result["misplaced"] = sorted(k for k, a in acks.items()
                                     if k in seen and len(seen[k]) == 1 and seen[k][0] != a["position"])
        result["unacknowledged_present"] = sum(1 for k in seen if k not in acks)
        data_dir = tempfile.mkdtemp(dir=tmp)
        v = subprocess.run([self.args.binary, "verify", "--chain-only", "--log-url", url, "--data-dir", data_dir],
                           capture_output=True, text=True, timeout=1200)
        result["verify_exit"] = v.returncode
        if v.returncode != 0:
            result["verify_output"] = (v.stdout + v.stderr).strip()[-1000:]
        return result

    def replay(self, acks, tokens):
        keys = random.sample(sorted(acks), min(REPLAY_SAMPLE, len(acks)))
        ok, mismatches = 0, []
        for n, key in enumerate(keys):
            a = acks[key]
            node_id, url = self.cluster.nodes[n % len(self.cluster.nodes)]
            headers = {"Authorization": "Bearer " + tokens[a["client"]], "Idempotency-Key": key,
                       "Content-Type": "application/json"}
            r = None
            for _ in range(40):  # a moment of 503 is allowed, a wrong answer is not
                r = http_json(url + "/api/posts/%d/fundings" % self.post_id, "POST", self.load.bodies[key],
                              headers, timeout=REQUEST_TIMEOUT)
                if r is not None and r[0] not in (502, 503, 504):
                    break
                time.sleep(0.25)
            if r is not None and r[0] == 201 and r[1].get("idempotent-replayed") == "true" \
                    and r[2] == a["body"] and r[1].get("x-ledger-position") == str(a["position"]):
                ok += 1
            else:
                mismatches.append({"key": key, "node": node_id, "answer": None if r is None else
                                   {"status": r[0], "replayed": r[1].get("idempotent-replayed"),
                                    "position": r[1].get("x-ledger-position"), "body": r[2][:300]},
                                   "acknowledged": {"position": a["position"], "body": a["body"][:300]}})
        return {"sent": len(keys), "ok": ok, "mismatches": mismatches}

    # -- the run

    def run(self):
        a = self.args
        t0 = time.monotonic()
        log("ops/cluster up --dir %s" % a.dir)
        self.cluster.up()
        self.up_s = round(time.monotonic() - t0, 1)
        log("up in %.1fs: nodes %s, members %s" % (
            self.up_s, " ".join(n for n, _ in self.cluster.nodes), " ".join(m for m, _ in self.cluster.members)))
        reason = self.wait_healthy(RECOVERY_LIMIT)
        if reason is not None:
            raise SetupError("the new cluster is not healthy: waiting for " + reason)
        tokens = [self.token("failover-backer-%d" % i) for i in range(a.clients)]
        self.post_id = self.create_post(self.token("failover-owner"))
        self.load = Load(self.cluster.nodes, self.post_id, tokens, self.run_id)
        self.load.start()
        if not self.wait_flowing(time.monotonic(), 60):
            raise SetupError("writes do not flow before the first fault")
        time.sleep(a.settle)
        faults = a.faults
        for r in range(1, a.rounds + 1):
            if not self.round(r, faults[(r - 1) % len(faults)]):
                log("the cluster did not recover; stopping the rounds")
                break
            time.sleep(a.settle)
        self.rounds_s = round(time.monotonic() - t0, 1)
        stuck = self.load.finish()
        if stuck:
            self.problems.append("clients did not stop: %s" % stuck)
        acks = dict(self.load.acks)
        log("load stopped: %d fundings acknowledged, %d keys sent" % (len(acks), self.load.first_sends))
        head, behind = self.wait_read_side(READ_SIDE_LIMIT)
        self.read_side = {"head": head, "behind": behind}
        for node_id, r in behind.items():
            self.warnings.append("after the load: node %s (GET /readyz %s) at log position %s, projector at %s, "
                                 "head %d: %s" % (
                                     node_id, r["code"], r["log_position"], r["projector_position"], head,
                                     "; ".join(r["problems"]) or "-"))
        log("read side: head %d; %s" % (head, "every node ready and projected up to it" if not behind else
                                         "behind: %s" % behind))
        self.replays = self.replay(acks, tokens)
        log("replayed %d acknowledged keys: %d answered as first acknowledged" % (
            self.replays["sent"], self.replays["ok"]))
        tmp = tempfile.mkdtemp(prefix="failover-audit-")
        try:
            for name, port in self.cluster.members:
                res = self.audit_member(name, port, acks, tmp)
                self.audit[name] = res
                log("audit %s: %d events, lost %d, duplicated %d, misplaced %d, events exit %d, "
                    "verify --chain-only exit %d" % (
                        name, res["events"], len(res["lost"]), len(res["duplicated"]), len(res["misplaced"]),
                        res["events_exit"], res["verify_exit"]))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.acks = acks


def summarize(h):
    a = h.args
    acks = getattr(h, "acks", {})
    by_kind = {}
    for r in h.rounds:
        by_kind.setdefault(r["fault"], []).append(r)
    lost = set()
    duplicated = set()
    misplaced = set()
    chain_failures = []
    for name, res in sorted(h.audit.items()):
        lost.update(res["lost"])
        duplicated.update(res["duplicated"])
        misplaced.update(res["misplaced"])
        if res["verify_exit"] != 0 or res["events_exit"] != 0:
            chain_failures.append(name)
    failures = list(h.problems)
    if h.audit and len(h.audit) != len(h.cluster.members):
        failures.append("audited %d of %d members" % (len(h.audit), len(h.cluster.members)))
    if not h.audit:
        failures.append("no member was audited")
    if lost:
        failures.append("%d acknowledged fundings lost, e.g. %s" % (len(lost), sorted(lost)[:5]))
    if duplicated:
        failures.append("%d keys in the log more than once, e.g. %s" % (len(duplicated), sorted(duplicated)[:5]))
    if misplaced:
        failures.append("%d keys at another position than acknowledged, e.g. %s" % (
            len(misplaced), sorted(misplaced)[:5]))
    if chain_failures:
        failures.append("events or verify --chain-only failed on %s" % ", ".join(chain_failures))
    if h.replays and h.replays["ok"] != h.replays["sent"]:
        failures.append("%d of %d replays did not answer as first acknowledged: %s" % (
            h.replays["sent"] - h.replays["ok"], h.replays["sent"], h.replays["mismatches"][:3]))
    if len(h.rounds) < a.rounds:
        failures.append("%d of %d rounds ran" % (len(h.rounds), a.rounds))

    rows = []
    for kind in FAULTS:
        rs = by_kind.get(kind)
        if not rs:
            continue
        stalls = [r["stall_s"] for r in rs]
        heal = [r["healthy_after_s"] for r in rs]
        rows.append({"fault": kind, "rounds": len(rs), "stall_max_s": max(stalls),
                     "stall_median_s": round(statistics.median(stalls), 3),
                     "healthy_max_s": max(heal)})
    summary = {
        "command": " ".join([os.path.relpath(sys.argv[0], os.getcwd())] + sys.argv[1:]),
        "rounds": len(h.rounds), "clients": a.clients, "lease_ms": a.lease_ms,
        "acknowledged": len(acks), "keys_sent": h.load.first_sends if h.load else 0,
        "acknowledged_as_replays": sum(1 for a in acks.values() if a["replayed"]),
        "lost": len(lost), "duplicated": len(duplicated), "misplaced": len(misplaced),
        "chain_ok_members": sorted(n for n in h.audit if n not in chain_failures),
        "replays": {k: v for k, v in h.replays.items()} if h.replays else None,
        "answers": {str(k): v for k, v in sorted((h.load.answers if h.load else {}).items(), key=str)},
        "by_fault": rows, "up_s": getattr(h, "up_s", None), "run_s": getattr(h, "rounds_s", None),
        "failures": failures, "warnings": h.warnings, "read_side": h.read_side, "round_details": h.rounds, "audit": {
            n: {k: (v if not isinstance(v, list) else len(v)) for k, v in res.items()}
            for n, res in h.audit.items()},
    }
    print()
    print("%-8s %6s %10s %10s %10s" % ("fault", "rounds", "stall max", "stall med", "heal max"))
    for r in rows:
        print("%-8s %6d %9.2fs %9.2fs %9.1fs" % (r["fault"], r["rounds"], r["stall_max_s"], r["stall_median_s"],
                                                 r["healthy_max_s"]))
    print()
    print("acknowledged fundings  %d (of %d keys sent; %d acknowledged by a replay: an earlier send had "
          "committed)" % (summary["acknowledged"], summary["keys_sent"], summary["acknowledged_as_replays"]))
    print("lost                   %d" % summary["lost"])
    print("duplicated             %d" % summary["duplicated"])
    print("at another position    %d" % summary["misplaced"])
    print("chain verified on      %s (of %d members)" % (
        ", ".join(summary["chain_ok_members"]) or "none", len(h.cluster.members)))
    if h.replays:
        print("replays                %d of %d answered 201, Idempotent-Replayed, same body" % (
            h.replays["ok"], h.replays["sent"]))
    print("answers to all sends   %s" % ", ".join("%s: %d" % kv for kv in summary["answers"].items()))
    if h.warnings:
        print()
        for w in h.warnings:
            print("WARN: " + w)
    if failures:
        print()
        for f in failures:
            print("FAIL: " + f)
    else:
        print("\nok: no acknowledged funding lost or duplicated on any member")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 1 if failures else 0


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", help="cluster directory (default: a new one under $TMPDIR, "
                                 "removed after a run that passes)")
    p.add_argument("--binary", default=os.path.join(REPO_ROOT, "build", "funding-ledger"),
                   help="the funding-ledger binary (default: build/funding-ledger)")
    p.add_argument("--rounds", type=int, default=20, help="fault rounds (default 20)")
    p.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    p.add_argument("--faults", default=",".join(FAULTS),
                   help="comma list of %s, injected in turn (default: all)" % ", ".join(FAULTS))
    p.add_argument("--json", help="write the results to this file")
    p.add_argument("--lease-ms", type=int, default=5000,
                   help="the nodes' sequencer lease (serve --lease-ms; default 5000): the zombie pause "
                        "is this plus 2 s")
    p.add_argument("--settle", type=float, default=1.0,
                   help="seconds of undisturbed load before each fault (default 1)")
    a = p.parse_args(argv)
    a.faults = [f.strip() for f in a.faults.split(",") if f.strip()]
    bad = [f for f in a.faults if f not in FAULTS]
    if bad or not a.faults:
        p.error("--faults: unknown %s (choose from %s)" % (",".join(bad) or "(empty)", ",".join(FAULTS)))
    if a.rounds < 1 or a.clients < 1:
        p.error("--rounds and --clients must be at least 1")
    a.binary = os.path.abspath(a.binary)
    if not os.access(a.binary, os.X_OK):
        p.error("%s is not an executable (build it, or pass --binary)" % a.binary)
    return a


def main(argv):
    a = parse_args(argv)
    made_dir = a.dir is None
    if made_dir:
        a.dir = tempfile.mkdtemp(prefix="failover-")
    a.dir = os.path.abspath(a.dir)
    os.makedirs(a.dir, exist_ok=True)
    # As root, PostgreSQL runs as the user postgres, which must enter it.
    os.chmod(a.dir, 0o755)

    def terminate(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, terminate)

    h = Harness(a)
    status = None  # set when the run ends before its checks
    try:
        h.run()
    except SetupError as e:
        log("setup failed: %s" % e)
        status = 2
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    except Exception as e:  # report it, stop the cluster, and fail
        log("harness error: %r" % (e,))
        h.problems.append("harness error: %r" % (e,))
    finally:
        if h.load is not None:
            h.load.finish()
        log("ops/cluster down --dir %s" % a.dir)
        if not h.cluster.down():
            h.problems.append("ops/cluster down failed")
            status = status or 1
    if status is None:
        status = summarize(h)
    if made_dir and status == 0:
        shutil.rmtree(a.dir, ignore_errors=True)
    elif made_dir:
        log("logs kept in %s" % a.dir)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
