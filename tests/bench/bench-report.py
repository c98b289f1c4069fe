#!/usr/bin/env python3
"""The report of scripts/bench.sh: OUT/raw/* -> OUT/results.json,
OUT/report.md (tables) and OUT/*.png (gnuplot).

  bench-report.py OUT quick|full

results.json: {"machine", "run", "measurements": [...], "plan_quality"}.
Every measurement has method, page_kind, size, processes, threads,
seconds, frozen_seconds, bytes, cpu_seconds, pages_failed (null where a
method has no such figure), so runs on different machines can be compared
by a script.
"""
import json
import os
import platform
import re
import statistics
import subprocess
import sys

OUT, MODE = sys.argv[1], sys.argv[2]
RAW = os.path.join(OUT, "raw")

NAMES = {
    "none": "not moved (reference)",
    "migratepages": "migratepages per process (migrate_pages(2))",
    "cpuset": "cgroup v2 cpuset.cpus + cpuset.mems",
    "syscall-all": "numamigrate, syscall engine, all workers",
    "kmod-all": "numamigrate, kernel module (CPU threads)",
    "frozen-all": "numamigrate --mode frozen",
    "live-all": "numamigrate --mode live",
}


def name(m):
    if m in NAMES:
        return NAMES[m]
    t = re.match(r"syscall-t(\d+)$", m)
    return f"numamigrate, syscall engine, {t.group(1)} worker(s)" if t else m


def lines(f):
    p = os.path.join(RAW, f)
    if not os.path.exists(p):
        return []
    return [json.loads(l) for l in open(p) if l.strip()]


def text(f, default=""):
    p = os.path.join(RAW, f)
    return open(p).read().strip() if os.path.exists(p) else default


def avail():
    a = {}
    for l in text("availability.txt").splitlines():
        k, v = l.split("=", 1)
        a[k] = v == "1"
    return a


def workers(method, dst_cpus):
    """Copy threads a method uses: the kernel's own ways copy on one."""
    if method in ("migratepages", "cpuset", "none"):
        return 1
    t = re.match(r".*-t(\d+)$", method)
    return int(t.group(1)) if t else dst_cpus


def kmod_test_rows(size):
    """nm-kmod-test's benchmark table: method, pages, seconds, ..."""
    rows, on = [], False
    for l in text("kmod-test.txt").splitlines():
        if l.startswith("method "):
            on = True
            continue
        if on:
            m = re.match(r"(.+?)\s{2,}(\d+)\s+([\d.]+)\s+([\d.]+)", l)
            if not m:
                break
            label, pages, secs = m.group(1).strip(), int(m.group(2)), float(m.group(3))
            t = re.search(r"(\d+) thread", label)
            rows.append({
                "part": "kmod-test", "method": "kmod-test: " + label, "page_kind": "4k",
                "size": size, "processes": 1, "threads": 1,
                "workers": int(t.group(1)) if t else None, "seconds": secs,
                "frozen_seconds": None, "bytes": pages * 4096, "cpu_seconds": None,
                "pages_failed": max(0, size // 4096 - pages)})
    return rows


def measurements(machine):
    out = []
    dst = machine.get("dst_node_cpus", 1)
    for r in lines("moves.jsonl"):
        r = dict(r)
        r["size"] = r.pop("size_bytes")
        r["workers"] = workers(r["method"], dst) if r["method"] != "none" else 0
        out.append(r)
    for c in lines("copy.jsonl"):
        out.append({"part": "copy", "method": "memcpy", "page_kind": "4k",
                    "size": c["bytes"], "processes": 1, "threads": c["threads"],
                    "workers": c["threads"], "seconds": c["seconds"],
                    "frozen_seconds": None, "bytes": c["bytes"], "cpu_seconds": None,
                    "pages_failed": 0})
    main = [r for r in out if r["part"] == "main"]
    size = main[0]["size"] if main else 0
    return out + kmod_test_rows(size)


def best(rows):
    """The fastest repetition of each (kind, method, x)."""
    b = {}
    for r in rows:
        k = (r["part"], r["page_kind"], r["method"], r["size"], r["processes"], r["mappings"])
        if k not in b or r["seconds"] < b[k]["seconds"]:
            b[k] = r
    return b


def plan_summary():
    rows = [r for r in lines("plan.jsonl") if r["part"] == "plan"]
    large = [r for r in lines("plan.jsonl") if r["part"] == "plan-large"]
    both = [r for r in rows if r["feasible"] and r["kernel_fits"]]
    ratios = sorted(r["bytes"] / r["kernel_bytes"] for r in both if r["kernel_bytes"] > 0)
    worse = [r for r in both if r["bytes"] > r["kernel_bytes"]]
    kinds = sorted(set(r["kind"] for r in rows))
    by_kind = {}
    for k in kinds:
        kr = [r for r in rows if r["kind"] == k]
        kb = [r for r in kr if r["feasible"] and r["kernel_fits"] and r["kernel_bytes"] > 0]
        by_kind[k] = {
            "scenarios": len(kr),
            "feasible": sum(r["feasible"] for r in kr),
            "kernel_fits": sum(r["kernel_fits"] for r in kr),
            "ours_only": sum(r["feasible"] and not r["kernel_fits"] for r in kr),
            "ratio_median": statistics.median([r["bytes"] / r["kernel_bytes"] for r in kb]) if kb else None,
            "fewer_bytes": sum(r["bytes"] < r["kernel_bytes"] for r in kb),
            "worse": sum(r["bytes"] > r["kernel_bytes"] for r in kb),
            "distortion_better": sum(r["distortion"] < r["kernel_distortion"] for r in kr if r["feasible"]),
            "distortion_worse": sum(r["distortion"] > r["kernel_distortion"] for r in kr if r["feasible"]),
            "plan_seconds_max": max((r["seconds"] for r in kr), default=0),
        }

    def q(p):
        return ratios[min(len(ratios) - 1, int(p * len(ratios)))] if ratios else None
    return {
        "scenarios": len(rows),
        "topologies": sorted(set(r["topology"] for r in rows)),
        "both_feasible": len(both),
        "ratio": {"min": q(0), "p10": q(0.1), "median": q(0.5), "p90": q(0.9),
                  "max": ratios[-1] if ratios else None},
        "worse": len(worse),
        "by_kind": by_kind,
        "large": large,
    }, rows, ratios


def fmt(v, f="{:.3f}"):
    return "-" if v is None else f.format(v)


def table(head, rows):
    s = "| " + " | ".join(head) + " |\n|" + "|".join("---" for _ in head) + "|\n"
    for r in rows:
        s += "| " + " | ".join(str(c) for c in r) + " |\n"
    return s


def gnuplot(script):
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode:
        sys.exit(f"bench-report: gnuplot failed: {r.stderr.strip()}")


def plot_axis(b, part, xkey, xlabel, png, logx=True):
    """Seconds of each method against one axis: one line per method."""
    pts = {}
    for (p, kind, m, size, procs, maps), r in b.items():
        if p == part:
            pts.setdefault(m, []).append((r[xkey] if xkey != "size" else r["size"] / 2**20,
                                          r["seconds"]))
    if not pts:
        return None
    dat = os.path.join(RAW, f"{part}.dat")
    with open(dat, "w") as f:
        for m in sorted(pts):
            f.write(f'"{name(m)}"\n')
            for x, y in sorted(pts[m]):
                f.write(f"{x} {y}\n")
            f.write("\n\n")
    n = len(pts)
    gnuplot(f"""set terminal pngcairo size 900,560 font ",10" noenhanced
set output "{os.path.join(OUT, png)}"
set title "Move time against {xlabel} (node 0 -> 1)"
set xlabel "{xlabel}"; set ylabel "wall seconds of the move"
{"set logscale x 2" if logx else ""}
set logscale y
set key top left
set grid
plot for [i=0:{n - 1}] "{dat}" index i using 1:2 with linespoints lw 2 title columnheader(1)
""")
    return png


def plot_share(b, copy, kinds, methods, png):
    """Each method's rate as a share of memcpy with the same thread count."""
    if not copy:
        return None
    dat = os.path.join(RAW, "share.dat")
    with open(dat, "w") as f:
        f.write("method " + " ".join(kinds) + "\n")
        for m in methods:
            vals = []
            for k in kinds:
                r = b.get(("main", k, m) + main_key(b))
                w = r and copy.get(r["workers"])
                vals.append(f"{100 * r['bytes'] / r['seconds'] / w:.1f}" if r and w and r["seconds"] else "0")
            f.write(f'"{m}" ' + " ".join(vals) + "\n")
    gnuplot(f"""set terminal pngcairo size 900,560 font ",10" noenhanced
set output "{os.path.join(OUT, png)}"
set title "Move rate as a share of memcpy node 0 -> 1 with the same threads"
set ylabel "% of memcpy bandwidth"
set style data histograms; set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30; set grid y; set key top right; set yrange [0:*]
plot "{dat}" using 2:xtic(1) title columnheader(2){", '' using 3 title columnheader(3)" if len(kinds) > 1 else ""}
""")
    return png


def plot_plan(ratios, png):
    if not ratios:
        return None
    dat = os.path.join(RAW, "plan.dat")
    with open(dat, "w") as f:
        for i, r in enumerate(ratios):
            f.write(f"{100 * (i + 1) / len(ratios)} {r}\n")
    gnuplot(f"""set terminal pngcairo size 900,560 font ",10" noenhanced
set output "{os.path.join(OUT, png)}"
set title "Bytes moved: planner / kernel do_migrate_pages() mapping ({len(ratios)} scenarios)"
set xlabel "% of scenarios"; set ylabel "bytes ratio (1 = same as the kernel)"
set yrange [0:1.1]; set grid; set key off
plot "{dat}" using 1:2 with steps lw 2
""")
    return png


MAIN_X = {}


def main_key(b):
    """(size, processes, mappings) of the main table."""
    if not MAIN_X:
        for (p, _, _, size, procs, maps) in b:
            if p == "main":
                MAIN_X["k"] = (size, procs, maps)
                break
    return MAIN_X.get("k", (0, 0, 0))


def main():
    machine = json.load(open(os.path.join(RAW, "machine.json"))) \
        if os.path.exists(os.path.join(RAW, "machine.json")) else {}
    machine["where"] = text("where.txt", "?")
    av = avail()
    meas = measurements(machine)
    moves = [r for r in meas if r["part"] in ("main", "noop", "size", "procs", "maps")]
    b = best(moves)
    copy = {c["threads"]: c["bytes"] / c["seconds"] for c in meas if c["part"] == "copy"}
    plan, plan_rows, ratios = plan_summary()
    virtual = machine.get("virtual", False)
    run = {"mode": MODE, "seconds": int(text("seconds.txt", "0") or 0),
           "host": {"hostname": platform.node(), "kernel": platform.release()},
           "date": os.path.basename(OUT.rstrip("/")),
           "kmod": av.get("kmod", False), "live": av.get("live", False),
           "kmod_note": text("kmod-why.txt")}
    json.dump({"machine": machine, "run": run, "measurements": meas,
               "plan_quality": {"summary": plan, "scenarios": plan_rows}},
              open(os.path.join(OUT, "results.json"), "w"), indent=1)

    md = [f"# numamigrate benchmarks ({MODE} run)\n\n"]
    if machine.get("kernel"):
        md.append(f"Moves measured on **{machine['where']}**: kernel {machine['kernel']}, "
                  f"{machine.get('cpus')} CPUs ({machine.get('cpu_model')}), "
                  f"{machine.get('nodes')} NUMA nodes, THP `{machine.get('thp')}`. "
                  f"Plan quality computed on {run['host']['hostname']} "
                  f"(kernel {run['host']['kernel']}). Whole run: {run['seconds']} s.\n")
    else:
        md.append(f"Moves: {machine['where']}. Plan quality on {run['host']['hostname']}.\n")
    if virtual:
        md.append("**These moves ran in a QEMU guest under TCG (emulated CPUs): the figures "
                  "are ratios between rows of this one run, never speeds.** Run "
                  "`./scripts/bench.sh` on a host with two or more NUMA nodes that have "
                  "CPUs (as root) for real figures.\n")
    if not run["live"]:
        md.append("live: not available in this build (`numamigrate move` has no `--mode`).\n")
    if not run["kmod"]:
        md.append(f"kernel module: not measured: {run['kmod_note'] or 'not loaded'}.\n")

    mains = [r for k, r in b.items() if k[0] == "main"]
    after = []
    if mains:
        size, procs, maps = main_key(b)
        thr = mains[0]["threads"]
        md.append(f"\n## 1. Speed and downtime\n\nA job of {procs} processes x {thr} threads, "
                  f"{size >> 20} MiB in all, moved node 0 -> node 1 (fastest of the repetitions). "
                  "wall = the whole move as a user starts it (numamigrate: the client's process "
                  "start to its exit; migratepages: one call per process; cpuset: the two "
                  "writes); daemon s = numamigrated's own time for the move (plan, freeze, "
                  "scan, copy, rebind, thaw); GB/s = bytes moved / wall; % copy = that rate against "
                  "memcpy node 0 -> 1 with the same number of copying threads (the kernel's ways "
                  "copy on one); frozen = how long the job was stopped (the kernel's ways do not "
                  "stop it, but threads touching a page being moved wait for it); CPU s = busy CPU "
                  "time of the whole machine during the move but the job's own (daemon, client, "
                  "kernel threads); pages failed = pages not moved.\n")
        after = []
        for kind in ("4k", "thp"):
            ref = b.get(("main", kind, "none", size, procs, maps))
            rows = []
            for m in [m for m in text("methods.txt").split() if ("main", kind, m, size, procs, maps) in b]:
                r = b[("main", kind, m, size, procs, maps)]
                rate = r["bytes"] / r["seconds"] if r["seconds"] > 0 else 0
                w = copy.get(r["workers"])
                rows.append([name(m), f"{r['seconds']:.3f}", fmt(r.get("daemon_seconds")),
                             f"{rate / 1e9:.3f}",
                             f"{100 * rate / w:.0f}%" if w else "-",
                             f"{r['frozen_seconds']:.3f}", f"{r['cpu_seconds']:.2f}",
                             f"{r['bytes'] >> 20}", r["pages_failed"],
                             "" if r.get("ok", True) else
                             ("partial" if r["bytes"] else "move failed")])
                after.append([kind, name(m), f"{r['pass_seconds']:.3f}",
                              f"{r['pass_seconds'] / ref['pass_seconds']:.2f}x" if ref else "-",
                              f"{r['thp_pages_after']}/{r['thp_pages_before']}" if kind == "thp" else "-"])
            if ref:
                after.append([kind, name("none"), f"{ref['pass_seconds']:.3f}", "1.00x",
                              f"{ref['thp_pages_after']}/{ref['thp_pages_before']}" if kind == "thp" else "-"])
            md.append(f"\n### {'4 KiB pages' if kind == '4k' else 'THP'}\n\n")
            md.append(table(["method", "wall s", "daemon s", "GB/s", "% copy", "frozen s",
                             "CPU s", "MiB moved", "pages failed", "note"], rows))
        noop = [r for k, r in b.items() if k[0] == "noop"]
        if noop:
            md.append("\n### Fixed cost: a move of a job with nothing to move (already on node 1)\n\n")
            md.append(table(["method", "wall s", "frozen s", "CPU s"],
                            [[name(r["method"]), f"{r['seconds']:.3f}", f"{r['frozen_seconds']:.3f}",
                              f"{r['cpu_seconds']:.2f}"] for r in noop]))
    if mains:
        ms = [m for m in text("methods.txt").split() if any(k[0] == "main" and k[2] == m for k in b)]
        if plot_share(b, copy, [k for k in ("4k", "thp") if any(x[1] == k for x in b)], ms, "fig-share.png"):
            md.append("\n### Rates as a share of the machine's copy bandwidth\n\n![share](fig-share.png)\n")
    kt = [r for r in meas if r["part"] == "kmod-test"]
    if kt:
        md.append("\n### The kernel module alone (nm-kmod-test's benchmark: one process's "
                  f"{kt[0]['size'] >> 20} MiB of 4 KiB pages, ioctl time; DMA through "
                  "the test provider in a guest, a real channel on hardware)\n\n")
        md.append(table(["method", "s", "GB/s", "% copy"],
                        [[r["method"][11:], f"{r['seconds']:.3f}",
                          f"{r['bytes'] / r['seconds'] / 1e9:.3f}",
                          f"{100 * r['bytes'] / r['seconds'] / copy[r['workers'] or 1]:.0f}%"
                          if copy.get(r["workers"] or 1) else "-"] for r in kt]))

    pngs = []
    axes = (("size", "size", "job size (MiB)", "fig-size.png"),
            ("procs", "processes", "processes (1 thread each)", "fig-procs.png"),
            ("maps", "mappings", "mappings per process", "fig-maps.png"))
    if any(k[0] in ("size", "procs", "maps") for k in b):
        md.append("\n## 2. Scaling\n\nWall seconds of each move; one process axis at a time "
                  "(4 KiB pages).\n")
    for part, xkey, label, png in axes:
        rows = sorted({(k[3], k[4], k[5]) for k in b if k[0] == part})
        ms = [m for m in text("methods.txt").split() if any(k[0] == part and k[2] == m for k in b)]
        if not rows:
            continue
        md.append(f"\n### Against {label}\n\n")
        trs = []
        for size, procs, maps in rows:
            x = {"size": size >> 20, "processes": procs, "mappings": maps}[xkey]
            trs.append([x] + [fmt(b[(part, "4k", m, size, procs, maps)]["seconds"])
                              if (part, "4k", m, size, procs, maps) in b else "-" for m in ms])
        md.append(table([label] + ms, trs))
        if plot_axis(b, part, xkey, label, png):
            md.append(f"\n![{label}]({png})\n")
            pngs.append(png)

    if mains and after:
        md.append("\n## 3. Cost to the job afterwards\n\nRight after each move of the table "
                  "above, every thread of the job reads and writes each 8-byte word of its "
                  "memory once; seconds of the slowest process, against the same job never "
                  "moved (its memory and threads on node 0). migratepages leaves the threads "
                  "on node 0's CPUs; numamigrate and the cpuset method move them too. THP "
                  "kept = 4 KiB pages inside huge pages after / before the move.\n\n")
        md.append(table(["pages", "method", "pass s", "vs never moved", "THP kept"], after))
    md.append("\n## 4. Plan quality\n\n")
    s = plan
    md.append(f"{s['scenarios']} seeded scenarios on the topologies of tests/data "
              f"({', '.join(s['topologies'])}): a job moved `--to` a node set, planned by "
              "`numamigrate plan --json`, against the kernel's do_migrate_pages() mapping "
              f"of the same request. Both feasible in {s['both_feasible']}. "
              f"**Ours moves more bytes than the kernel in {s['worse']} scenarios** "
              "(where both mappings fit). Bytes ratio ours/kernel: "
              f"min {fmt(s['ratio']['min'])}, p10 {fmt(s['ratio']['p10'])}, median "
              f"{fmt(s['ratio']['median'])}, p90 {fmt(s['ratio']['p90'])}, max {fmt(s['ratio']['max'])}.\n\n")
    md.append(table(["kind", "scenarios", "feasible", "kernel fits", "only ours fits",
                     "median ratio", "fewer bytes", "more bytes", "distance kept better",
                     "distance worse", "max plan s"],
                    [[k, v["scenarios"], v["feasible"], v["kernel_fits"], v["ours_only"],
                      fmt(v["ratio_median"]), v["fewer_bytes"], v["worse"],
                      v["distortion_better"], v["distortion_worse"],
                      fmt(v["plan_seconds_max"], "{:.4f}")] for k, v in s["by_kind"].items()]))
    if s["large"]:
        md.append("\nThe largest topology, 384 ranks:\n\n")
        md.append(table(["topology", "target", "ranks", "plan s", "command wall s",
                         "GiB moved", "kernel GiB", "search complete"],
                        [[r["topology"], r["kind"], r["ranks"], f"{r['seconds']:.3f}",
                          f"{r['wall_seconds']:.3f}", f"{r['bytes'] / 2**30:.1f}",
                          f"{r['kernel_bytes'] / 2**30:.1f}", r["search_complete"]]
                         for r in s["large"]]))
    if plot_plan(ratios, "fig-plan.png"):
        md.append("\n![plan ratio](fig-plan.png)\n")
    if copy:
        md.append("\n## 5. The limit: memcpy node 0 -> node 1 (threads on node 1's CPUs)\n\n")
        md.append(table(["threads", "GB/s"], [[t, f"{v / 1e9:.3f}"] for t, v in sorted(copy.items())]))
    md.append("\nEvery figure above comes from `results.json` of this run; raw lines in `raw/`.\n")
    open(os.path.join(OUT, "report.md"), "w").write("".join(md))


if __name__ == "__main__":
    main()
