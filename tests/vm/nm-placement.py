#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Where a job's pages and threads are, and checks of a move against it.

Reads /proc/PID/numa_maps (pages per node of every mapping) and the CPU
affinity of every thread; used by the daemon tests in the multi-node guest.

  nm-placement.py snap OUT.json PIDS
      record the placement of the processes PIDS (comma-separated)
  nm-placement.py check BEFORE.json MOVE.json PIDS [--file-unchanged]
                 [--private-only] [--allow-off=N]
      the move (numamigrate move --json output) did what it said: every
      page of the job's memory (anonymous, shmem) that was on node n is on
      map[n] (plan.map), no page of it is left elsewhere; every thread's
      CPUs are those of cpu_map[n] with the same rank inside the node;
      --file-unchanged: the page cache of files (libraries, the program)
      is where it was; --private-only: mappings with pages several
      processes map (mapmax=, e.g. copy-on-write after fork) are counted,
      not checked: with NUMA balancing on, the kernel moves such a page
      after whichever process faults on it, the job's or another's;
      --allow-off=N: up to N pages (those the move reported not moved)
      may be missing from their mapped node, and be anywhere.
  nm-placement.py same BEFORE.json PIDS
      the job's memory is exactly where it was (a refused move)
  nm-placement.py nodes PIDS
      one line: the job's memory per node, in pages
  nm-placement.py consistent PIDS
      every thread of each process runs only on CPUs of the node that
      holds most of that process's memory (a move that stopped halfway)
  nm-placement.py kinds BEFORE.json NMW.out
      JSON: pages of nm-workload's 4k, thp and shared regions in the
      snapshot, and the job's THP pages now (smaps AnonHugePages)

Exit 0 when every check passes, 1 otherwise (each failure printed).
"""
import bisect
import glob
import json
import os
import re
import sys

SHMEM = ("/dev/shm/", "/dev/zero", "/SYSV", "/memfd:")


def kind(line):
    """job: the job's memory; file: a file's page cache; mixed: both."""
    m = re.search(r" file=(\S+)", line)
    if not m:
        return "job"
    if m.group(1).startswith(SHMEM) or " huge " in line:
        return "job"
    return "mixed" if " anon=" in line else "file"


def read_maps(pid):
    vmas = {}
    with open(f"/proc/{pid}/numa_maps") as f:
        for line in f:
            start = line.split()[0]
            nodes = {int(n): int(c) for n, c in re.findall(r" N(\d+)=(\d+)", line)}
            vmas[start] = {"kind": kind(line), "nodes": nodes,
                           "shared": " mapmax=" in line,
                           "text": line.strip()[:120]}
    return vmas


def cpulist(text):
    cpus = []
    for part in text.strip().split(","):
        if not part:
            continue
        a, _, b = part.partition("-")
        cpus.extend(range(int(a), int(b or a) + 1))
    return cpus


def threads(pid):
    out = {}
    for st in glob.glob(f"/proc/{pid}/task/*/status"):
        tid = st.split("/")[4]
        try:
            with open(st) as f:
                for line in f:
                    if line.startswith("Cpus_allowed_list:"):
                        out[tid] = cpulist(line.split(":", 1)[1])
        except OSError:
            pass
    return out


def node_cpus():
    out = {}
    for d in glob.glob("/sys/devices/system/node/node[0-9]*"):
        with open(d + "/cpulist") as f:
            out[int(d.rsplit("node", 1)[1])] = cpulist(f.read())
    return out


def snap(pids):
    return {"pids": {str(p): {"vmas": read_maps(p), "threads": threads(p)}
                     for p in pids},
            "node_cpus": {str(k): v for k, v in node_cpus().items()}}


def totals(s, want="job"):
    tot = {}
    for p in s["pids"].values():
        for v in p["vmas"].values():
            if v["kind"] == want:
                for n, c in v["nodes"].items():
                    tot[int(n)] = tot.get(int(n), 0) + c
    return dict(sorted(tot.items()))


fails = 0


def fail(msg):
    global fails
    fails += 1
    if fails <= 25:
        print("FAIL: " + msg)


def check(before, move, file_unchanged, private_only=False, allow_off=0):
    now = snap([int(p) for p in before["pids"]])
    nmap = {int(k): int(v) for k, v in move["plan"]["map"].items()}
    cmap = {int(k): int(v) for k, v in move["cpu_map"].items()}
    targets = set(nmap.values())
    checked = moved = files = movable = skipped = off = 0
    for pid, b in before["pids"].items():
        a = now["pids"][pid]
        for start, vb in b["vmas"].items():
            va = a["vmas"].get(start)
            if va is None:
                continue
            nb = {int(n): c for n, c in vb["nodes"].items()}
            na = {int(n): c for n, c in va["nodes"].items()}
            if private_only and (vb.get("shared") or va.get("shared")):
                skipped += sum(nb.values())
                continue
            if vb["kind"] == "job":
                want = {}
                for n, c in nb.items():
                    m = nmap.get(n, n)
                    want[m] = want.get(m, 0) + c
                    checked += c
                    moved += c if m != n else 0
                bad = {}
                for n in set(want) | set(na):
                    d = na.get(n, 0) - want.get(n, 0)
                    # A page missing from where it should be is somewhere
                    # else; new pages (a stack growing) may only be on the
                    # target nodes.
                    if d < 0 or (d > 0 and n not in targets):
                        bad[n] = d
                # Pages the move reported not moved: missing from their
                # target and left elsewhere, within the allowance.
                miss = max(sum(-d for d in bad.values() if d < 0),
                           sum(d for d in bad.values() if d > 0))
                if bad and miss <= allow_off:
                    allow_off -= miss
                    off += miss
                    bad = {}
                for n, d in bad.items():
                    fail(f"pid {pid} {start}: node {n} has {na.get(n, 0)} "
                         f"pages, want {want.get(n, 0)} (before {nb}, "
                         f"now {na}): {vb['text']}")
            elif vb["kind"] == "file" and file_unchanged:
                files += sum(nb.values())
                movable += sum(c for n, c in nb.items() if nmap.get(n, n) != n)
                if nb != na:
                    fail(f"pid {pid} {start}: page cache moved: {nb} -> {na}: "
                         f"{vb['text']}")
        for start, va in a["vmas"].items():
            if start in b["vmas"] or va["kind"] != "job":
                continue
            for n, c in va["nodes"].items():
                if int(n) not in targets and c:
                    fail(f"pid {pid} {start}: new mapping with {c} pages on "
                         f"node {n}: {va['text']}")
    ncpus = {int(k): v for k, v in before["node_cpus"].items()}
    cpu_node = {c: n for n, cs in ncpus.items() for c in cs}
    nthreads = 0
    for pid, b in before["pids"].items():
        for tid, cpus in b["threads"].items():
            after = now["pids"][pid]["threads"].get(tid)
            if after is None:
                continue
            want = set()
            for c in cpus:
                n = cpu_node[c]
                dst = ncpus[cmap.get(n, n)]
                want.add(dst[ncpus[n].index(c) % len(dst)])
            nthreads += 1
            if sorted(want) != sorted(after):
                fail(f"pid {pid} thread {tid}: CPUs {after}, want "
                     f"{sorted(want)} (before {cpus})")
    print(f"placement: {checked} job pages checked ({moved} mapped to another "
          f"node), now per node {totals(now)}; {nthreads} threads checked" +
          (f"; {files} page-cache pages checked unchanged, {movable} of them "
           f"on nodes the move maps elsewhere" if file_unchanged else "") +
          (f"; {skipped} pages of shared mappings not checked"
           if private_only else "") +
          (f"; {off} pages not on their mapped node, as the move reported"
           if off else ""))
    if not checked or not moved:
        fail("no job pages checked or none to move")
    # Page cache on a source node: an engine that moved it would show.
    if file_unchanged and not movable:
        fail("no page-cache pages on the nodes moved: nothing to check")


def consistent(pids):
    now = snap(pids)
    cpu_node = {c: int(n) for n, cs in now["node_cpus"].items() for c in cs}
    for pid, p in now["pids"].items():
        mem = totals({"pids": {pid: p}})
        if not mem:
            fail(f"pid {pid}: no memory of the job")
            continue
        most = max(mem, key=mem.get)
        for tid, cpus in p["threads"].items():
            on = sorted({cpu_node[c] for c in cpus})
            if on != [most]:
                fail(f"pid {pid} thread {tid}: CPUs {cpus} on nodes {on}, "
                     f"its memory mostly on node {most} ({mem})")
        print(f"pid {pid}: memory {mem}, {len(p['threads'])} threads on "
              f"node {most}" if not fails else "")


def main(argv):
    if len(argv) >= 3 and argv[1] == "snap":
        with open(argv[2], "w") as f:
            json.dump(snap([int(p) for p in argv[3].split(",")]), f)
        return 0
    if len(argv) >= 5 and argv[1] == "check":
        with open(argv[2]) as f:
            before = json.load(f)
        with open(argv[3]) as f:
            move = json.load(f)
        off = [a for a in argv[5:] if a.startswith("--allow-off=")]
        check(before, move, "--file-unchanged" in argv[5:],
              "--private-only" in argv[5:],
              int(off[0].split("=", 1)[1]) if off else 0)
        return 1 if fails else 0
    if len(argv) == 4 and argv[1] == "same":
        with open(argv[2]) as f:
            before = json.load(f)
        now = snap([int(p) for p in argv[3].split(",")])
        if totals(before) != totals(now):
            fail(f"job memory moved: {totals(before)} -> {totals(now)}")
        print(f"placement: unchanged {totals(now)}" if not fails else "")
        return 1 if fails else 0
    if len(argv) == 4 and argv[1] == "kinds":
        # pages of each nm-workload region (its "worker PID: 4k A thp A
        # shared A" lines) in the snapshot, summed over the processes,
        # and the THP (AnonHugePages, in 4 KiB pages) of the job now
        with open(argv[2]) as f:
            s = json.load(f)
        out = {"4k": 0, "thp": 0, "shared": 0, "thp_now": 0}
        with open(argv[3]) as f:
            for line in f:
                m = re.match(r"worker (\d+): 4k (\S+) thp (\S+) shared (\S+)", line)
                if not m or m.group(1) not in s["pids"]:
                    continue
                vmas = s["pids"][m.group(1)]["vmas"]
                starts = sorted(int(v, 16) for v in vmas)
                for k, a in zip(("4k", "thp", "shared"), m.groups()[1:]):
                    a = int(a, 16)
                    i = bisect.bisect_right(starts, a) - 1
                    if a and i >= 0:
                        out[k] += sum(vmas["%x" % starts[i]]["nodes"].values())
        for pid in s["pids"]:
            with open(f"/proc/{pid}/smaps") as f:
                out["thp_now"] += sum(int(l.split()[1]) // 4 for l in f
                                      if l.startswith("AnonHugePages:"))
        print(json.dumps(out))
        return 0
    if len(argv) == 3 and argv[1] == "consistent":
        consistent([int(p) for p in argv[2].split(",")])
        return 1 if fails else 0
    if len(argv) == 3 and argv[1] == "nodes":
        print(totals(snap([int(p) for p in argv[2].split(",")])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
