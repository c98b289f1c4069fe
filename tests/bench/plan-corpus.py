#!/usr/bin/env python3
"""Plan quality over a corpus (scripts/bench.sh, part 4; not a test).

Random, seeded scenarios on the real topologies of tests/data: a job of
ranks on some nodes moved --to a node set (disjoint from the job's nodes,
overlapping them, onto memory-only tiers, or with tight free memory on the
targets).  Each one is planned by `numamigrate plan --json`, which also
replays the kernel's do_migrate_pages() mapping for the same request, and
one JSON line per scenario is written: bytes moved by the planner and by the
kernel, whether the kernel's mapping fits, distance change (distortion) of
both, plan seconds.  Then the plan time of a 384-rank job on the largest
topology.

  plan-corpus.py NUMAMIGRATE TESTDATA OUT.jsonl [--count N] [--seed S]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time
import xml.etree.ElementTree as ET


def cpus_of(mask):
    """hwloc bitmap '0xff,,0x0f' (32-bit words, most significant first)."""
    cpus = []
    for i, word in enumerate(reversed(mask.split(","))):
        v = int(word, 16) if word else 0
        cpus += [32 * i + b for b in range(32) if v >> b & 1]
    return cpus


def topology(path):
    """{os_index: {"cpus": [...], "mem": bytes, "tier": bool}} of an XML."""
    nodes = {}
    for o in ET.parse(path).iter("object"):
        if o.get("type") != "NUMANode":
            continue
        nodes[int(o.get("os_index"))] = {
            "cpus": cpus_of(o.get("cpuset", "0x0")),
            "mem": int(o.get("local_memory", "0")),
            "tier": o.get("subtype") in ("MCDRAM", "HBM", "CXL", "NVM"),
        }
    return nodes


def nodelist(nodes):
    return ",".join(str(n) for n in sorted(nodes))


def make_job(rng, topo, src, ranks_per_node, tier_nodes=()):
    """Ranks on the CPU nodes of src; some memory on tier nodes if given."""
    tasks, rank = [], 0
    for n in src:
        share = topo[n]["mem"] * rng.uniform(0.02, 0.3) / ranks_per_node
        for _ in range(ranks_per_node):
            mem = {str(n): int(share) // 4096 * 4096 + 4096}
            if tier_nodes:
                t = rng.choice(tier_nodes)
                mem[str(t)] = int(topo[t]["mem"] * rng.uniform(0.01, 0.1)
                                  / ranks_per_node) // 4096 * 4096 + 4096
            tasks.append({"rank": rank, "cpus": str(rng.choice(topo[n]["cpus"])),
                          "memory": mem})
            rank += 1
    return {"tasks": tasks}


def scenario(rng, kind, topo):
    """One request: (job, target nodes, --free or None)."""
    cpu_nodes = sorted(n for n, v in topo.items() if v["cpus"] and not v["tier"])
    tiers = sorted(n for n, v in topo.items() if v["tier"])
    k = rng.randint(1, max(1, len(cpu_nodes) // 2))
    src = rng.sample(cpu_nodes, k)
    rest = [n for n in cpu_nodes if n not in src]
    free = None
    job = make_job(rng, topo, src, rng.randint(1, 4))
    if kind == "disjoint" or (kind == "overlap" and k == 1):
        dst = rng.sample(rest, min(k, len(rest)))
    elif kind == "overlap":
        keep = rng.randint(1, k - 1)
        dst = rng.sample(src, keep) + rng.sample(rest, min(k - keep, len(rest)))
    elif kind == "tier":
        src_tiers = [t for t in tiers if set(topo[t]["cpus"]) & set(
            c for n in src for c in topo[n]["cpus"])]
        job = make_job(rng, topo, src, rng.randint(1, 4), src_tiers or tiers)
        dst_nodes = rng.sample(rest, min(k, len(rest)))
        dst_cpus = set(c for n in dst_nodes for c in topo[n]["cpus"])
        dst = dst_nodes + [t for t in tiers if set(topo[t]["cpus"]) & dst_cpus]
    else:  # tight: each target node has room for about one source node
        dst = rng.sample(rest, min(k, len(rest)))
        per = {}
        for t in job["tasks"]:
            for n, b in t["memory"].items():
                per[n] = per.get(n, 0) + b
        room = max(per.values()) * rng.choice((1.0, 1.0, 1.05, 0.95))
        free = {n: int(room) for n in dst}
    return job, sorted(dst), free


def plan(numamigrate, xml, job, dst, free):
    cmd = [numamigrate, "plan", "--topology", xml, "--job", "-",
           "--to", nodelist(dst), "--json"]
    if free:
        cmd += ["--free", ",".join(f"{n}={b}" for n, b in sorted(free.items()))]
    r = subprocess.run(cmd, input=json.dumps(job), capture_output=True, text=True)
    if r.returncode not in (0, 1):
        sys.exit(f"plan-corpus: {' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def corpus(args, out):
    rng = random.Random(args.seed)
    xmls = sorted(f for f in os.listdir(args.testdata) if f.endswith(".xml"))
    topos = {x: topology(os.path.join(args.testdata, x)) for x in xmls}
    kinds = ["disjoint", "overlap", "tier", "tight"]
    for i in range(args.count):
        kind = kinds[i % len(kinds)]
        usable = [x for x in xmls if len([n for n, v in topos[x].items()
                                          if v["cpus"] and not v["tier"]]) >= 2]
        if kind == "tier":
            usable = [x for x in usable if any(v["tier"] for v in topos[x].values())]
        x = rng.choice(usable)
        job, dst, free = scenario(rng, kind, topos[x])
        d = plan(args.numamigrate, os.path.join(args.testdata, x), job, dst, free)
        out.write(json.dumps({
            "part": "plan", "scenario": i, "kind": kind, "topology": x,
            "ranks": len(job["tasks"]), "target": nodelist(dst),
            "feasible": d["feasible"], "kernel_fits": d["kernel_fits"],
            "bytes": d["bytes_moved"], "kernel_bytes": d["kernel_bytes_moved"],
            "distortion": d["distortion"], "kernel_distortion": d["kernel_distortion"],
            "seconds": d["plan_seconds"], "search_complete": d["search_complete"],
        }) + "\n")


def largest(args, out):
    """384 ranks on half the nodes of the largest topology, to the rest and
    to an overlapping set: plan seconds (the planner's own clock) and the
    wall time of the whole command."""
    xmls = sorted(f for f in os.listdir(args.testdata) if f.endswith(".xml"))
    x = max(xmls, key=lambda f: len(topology(os.path.join(args.testdata, f))))
    topo = topology(os.path.join(args.testdata, x))
    nodes = sorted(n for n, v in topo.items() if v["cpus"])
    half = nodes[:len(nodes) // 2]
    rng = random.Random(args.seed)
    per = 384 // len(half)
    job = make_job(rng, topo, half, per)
    for kind, dst in (("disjoint", nodes[len(half):]),
                      ("overlap", nodes[len(half) // 2:len(half) // 2 + len(half)])):
        t0 = time.monotonic()
        d = plan(args.numamigrate, os.path.join(args.testdata, x), job, dst, None)
        out.write(json.dumps({
            "part": "plan-large", "kind": kind, "topology": x,
            "ranks": len(job["tasks"]), "nodes": len(topo), "target": nodelist(dst),
            "feasible": d["feasible"], "bytes": d["bytes_moved"],
            "kernel_bytes": d["kernel_bytes_moved"], "seconds": d["plan_seconds"],
            "wall_seconds": time.monotonic() - t0,
            "search_complete": d["search_complete"],
        }) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("numamigrate")
    ap.add_argument("testdata")
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=240)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    with open(args.out, "w") as out:
        corpus(args, out)
        largest(args, out)


if __name__ == "__main__":
    main()
