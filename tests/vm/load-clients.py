#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""100 concurrent clients against one numamigrated (tests/vm/load.test).

  load-clients.py SOCKET JOBS.json

JOBS.json: [{"job": J, "pids": [P], "nodes": [HOME, AWAY]}, ...] for the
jobs to move, and "sleepers": [P, ...] for registrations.  One mover per
job moves it to AWAY and back HOME (every pair of jobs whose node
pairs meet overlaps; the others are disjoint); 10 clients register and
unregister a sleeper each under a job of their own; the other clients ask for
status until the movers are done.  Prints the figures and exits 1 when a
status took a second or more, a request failed, or a move ended neither
done nor refused with a reason.

The clients are 100 connections driven by PROCS asyncio loops, one
process each: in the slow emulated guest, 100 Python threads would spend
more CPU switching the interpreter lock than the daemon spends
answering, one loop alone is busy for every request in turn, and a
client that waits for its own CPU time measures itself, not the daemon.
"""
import asyncio
import json
import multiprocessing
import os
import random
import socket
import struct
import sys
import time

CLIENTS = 100
PROCS = 4
MOVES_PER_JOB = 2
STATUS_LIMIT = 1.0


async def recv_exactly(loop, sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = await loop.sock_recv(sock, n - len(buf))
        if not chunk:
            raise EOFError("the daemon closed the connection")
        buf += chunk
    return bytes(buf)


async def request(path, obj, timeout=600):
    """One request on a fresh connection: (seconds, reply).

    The connection is made as numamigrate's (lib/proto): it waits in the
    daemon's listen backlog; a full backlog (EAGAIN) is a failure.  A
    plain non-blocking socket on the loop, not asyncio's streams: in the
    emulated guest those cost the client half again as much CPU per
    request, taken from the daemon it measures."""
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, path), timeout)
        body = json.dumps(dict(obj, version=1)).encode()
        await asyncio.wait_for(loop.sock_sendall(
            sock, struct.pack(">I", len(body)) + body), timeout)

        async def replies():
            while True:
                n = struct.unpack(">I", await recv_exactly(loop, sock,
                                                           4))[0]
                reply = json.loads(await recv_exactly(loop, sock, n))
                if "progress" not in reply:
                    return reply
        reply = await asyncio.wait_for(replies(), timeout)
        return time.monotonic() - t0, reply
    finally:
        sock.close()


class Stats:
    def __init__(self):
        self.lat = {}              # kind -> [seconds]
        self.errors = []           # failed requests, as text
        self.moves = []            # (job, to, ok, reason, queue_seconds,
        #                             bytes_moved)
        self.max_running = 0
        self.max_waiting = 0
        self.max_position = 0

    def add(self, kind, sec):
        self.lat.setdefault(kind, []).append(sec)


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def failure(e):
    return "%s: %s" % (type(e).__name__, e)


async def mover(path, job, st):
    home, away = job["nodes"]
    for i in range(MOVES_PER_JOB):
        to = away if i % 2 == 0 else home
        try:
            sec, r = await request(path, {"op": "move", "job": job["job"],
                                          "to": str(to)})
        except Exception as e:  # noqa: BLE001 - every failure is counted
            st.errors.append("move job %d: %s" % (job["job"], failure(e)))
            continue
        st.add("move", sec)
        res = r.get("result") or {}
        st.moves.append((job["job"], to, bool(r.get("ok")),
                         r.get("error", ""), res.get("queue_seconds"),
                         res.get("bytes_moved", 0)))


async def registrar(path, k, sleepers, moving, st):
    job, pid = 9000 + k, sleepers[k % len(sleepers)]
    while moving.value:
        for op in ({"op": "register", "job": job,
                    "tasks": [{"pid": pid, "rank": 0}]},
                   {"op": "unregister", "job": job}):
            try:
                sec, r = await request(path, op, timeout=30)
            except Exception as e:  # noqa: BLE001
                st.errors.append("%s job %d: %s" % (op["op"], job,
                                                    failure(e)))
                continue
            st.add(op["op"], sec)
            if not r.get("ok"):
                st.errors.append("%s job %d: %s" % (op["op"], job,
                                                    r.get("error")))
        await asyncio.sleep(random.uniform(0.2, 0.6))


async def watcher(path, moving, st):
    while moving.value:
        try:
            sec, r = await request(path, {"op": "status"}, timeout=30)
        except Exception as e:  # noqa: BLE001
            st.errors.append("status: %s" % failure(e))
            continue
        st.add("status", sec)
        if not r.get("ok"):
            st.errors.append("status: %s" % r.get("error"))
            continue
        st.max_running = max(st.max_running, len(r["moves"]))
        st.max_waiting = max(st.max_waiting, len(r["queue"]))
        for q in r["queue"]:
            st.max_position = max(st.max_position, q["position"])
        await asyncio.sleep(random.uniform(1.0, 2.0))


def report(st, wall, cpu):
    bad = 0
    print("load: %d clients in %d processes, %.1f s, the clients' CPU "
          "%.1f s" % (CLIENTS, PROCS, wall, cpu))
    total = sum(len(v) for v in st.lat.values())
    print("load: requests %d (%s)" % (total, ", ".join(
        "%s %d" % (k, len(v)) for k, v in sorted(st.lat.items()))))
    for kind, v in sorted(st.lat.items()):
        print("load: %-10s latency p50 %.3f s, p90 %.3f s, p99 %.3f s, "
              "max %.3f s" % (kind, pct(v, 50), pct(v, 90), pct(v, 99),
                              max(v)))
    done = [m for m in st.moves if m[2]]
    refused = [m for m in st.moves if not m[2]]
    waits = [m[4] for m in done if m[4] is not None]
    waited = [w for w in waits if w > 0.01]
    print("load: moves %d done (%.1f MiB moved), %d refused, of %d asked" %
          (len(done), sum(m[5] for m in done) / 2.0**20, len(refused),
           len(st.moves)))
    if waits:
        print("load: queue waits: %d of %d moves waited; p50 %.3f s, "
              "p90 %.3f s, max %.3f s" % (len(waited), len(waits),
                                          pct(waits, 50), pct(waits, 90),
                                          max(waits)))
    print("load: seen in status: at most %d moves running at once, %d "
          "waiting, position %d" % (st.max_running, st.max_waiting,
                                    st.max_position))
    for m in refused:
        print("load: job %d to %d refused: %s" % (m[0], m[1], m[3]))
        if not m[3]:
            print("FAIL: a move refused without a reason")
            bad += 1
    slow = [s for s in st.lat.get("status", []) if s >= STATUS_LIMIT]
    if slow:
        print("FAIL: %d status requests took %.0f s or more (max %.3f s)"
              % (len(slow), STATUS_LIMIT, max(slow)))
        bad += 1
    if not st.lat.get("status"):
        print("FAIL: no status answered")
        bad += 1
    for e in st.errors[:20]:
        print("FAIL: %s" % e)
    bad += len(st.errors)
    if len(st.moves) != MOVES_PER_JOB * len(set(m[0] for m in st.moves)):
        print("FAIL: a move got no reply")
        bad += 1
    if not done or not all(m[5] > 0 for m in done):
        print("FAIL: a move done moved nothing, or none was done")
        bad += 1
    if st.max_running < 2:
        print("FAIL: never two moves at once (disjoint nodes run together)")
        bad += 1
    if not waited:
        print("FAIL: no move waited in the queue (overlapping ones must)")
        bad += 1
    return bad


async def alone(path):
    """What one status costs with nothing else asking, for comparison."""
    fresh, shared, ping = [], [], []
    for _ in range(5):
        await asyncio.sleep(0.6)    # the daemon's table read since
        fresh.append((await request(path, {"op": "status"}, 30))[0])
    for _ in range(5):
        shared.append((await request(path, {"op": "status"}, 30))[0])
        ping.append((await request(path, {"op": "ping"}, 30))[0])
    print("load: alone: status %.3f s (0.6 s apart), %.3f s (back to "
          "back), ping %.3f s (medians of 5)"
          % (pct(fresh, 50), pct(shared, 50), pct(ping, 50)))


async def share(path, spec, k, moving, st):
    """Process k's share of the clients; moving: movers still at work."""
    jobs, sleepers = spec["jobs"], spec["sleepers"]
    mine = jobs[k::PROCS]
    others = [asyncio.ensure_future(registrar(path, r, sleepers, moving,
                                              st))
              for r in range(10)[k::PROCS]]
    others += [asyncio.ensure_future(watcher(path, moving, st))
               for _ in range(CLIENTS - len(jobs) - 10)[k::PROCS]]
    await asyncio.sleep(1)      # status traffic first, then the moves
    await asyncio.gather(*[mover(path, j, st) for j in mine])
    with moving.get_lock():
        moving.value -= len(mine)
    await asyncio.gather(*others)


def child(path, spec, k, moving, out):
    st = Stats()
    asyncio.run(share(path, spec, k, moving, st))
    cpu = os.times()
    out.put((st.__dict__, cpu.user + cpu.system))


def run(path, spec):
    """Every process's figures merged, the wall time, the clients' CPU."""
    st = Stats()
    moving = multiprocessing.Value("i", len(spec["jobs"]))
    out = multiprocessing.Queue()
    t0 = time.monotonic()
    procs = [multiprocessing.Process(target=child,
                                     args=(path, spec, k, moving, out))
             for k in range(PROCS)]
    for p in procs:
        p.start()
    cpu = 0.0
    for _ in procs:
        d, c = out.get()
        cpu += c
        for kind, v in d["lat"].items():
            st.lat.setdefault(kind, []).extend(v)
        st.errors += d["errors"]
        st.moves += d["moves"]
        for f in ("max_running", "max_waiting", "max_position"):
            setattr(st, f, max(getattr(st, f), d[f]))
    for p in procs:
        p.join()
    return st, time.monotonic() - t0, cpu


def main():
    path, jobs_file = sys.argv[1], sys.argv[2]
    with open(jobs_file) as f:
        spec = json.load(f)
    asyncio.run(alone(path))
    st, wall, cpu = run(path, spec)
    sys.exit(1 if report(st, wall, cpu) else 0)


if __name__ == "__main__":
    main()
