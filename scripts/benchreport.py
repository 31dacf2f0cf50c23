#!/usr/bin/env python3
"""benchreport.py: the workload table of scripts/bench.sh and its report.

Each workload of ../shared/anchors/go is described once here: the flag sets
it runs with (both programs get the same flags), the metrics read from its
one-line result, whether lower or higher is better, and the target (from the
issues: a bound on the ratio gort/Go, or on gort's own value).

  benchreport.py --list                 workload names, in report order
  benchreport.py --configs NAME         "config<TAB>flags" lines for bench.sh
  benchreport.py --write FILE --rounds N --go VERSION RESULTS NAME...
                                        turn bench.sh's results into the
                                        sections of FILE (BENCHMARKS.md) for
                                        those workloads, keeping the others
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

LOWER, HIGHER = "lower", "higher"


class Metric:
    def __init__(self, label, pattern, better=LOWER, ratio_max=None, ratio_min=None, gort_max=None):
        self.label = label
        self.regex = re.compile(pattern)
        self.better = better
        self.ratio_max = ratio_max  # number, or {P: number}
        self.ratio_min = ratio_min
        self.gort_max = gort_max    # bound on gort's own value

    def target(self, procs):
        def at(t):
            return t.get(procs) if isinstance(t, dict) else t
        if at(self.ratio_max) is not None:
            return ("ratio<=", at(self.ratio_max))
        if at(self.ratio_min) is not None:
            return ("ratio>=", at(self.ratio_min))
        if self.gort_max is not None:
            return ("gort<=", self.gort_max)
        return None


NUM = r"([0-9]+(?:\.[0-9]+)?)"

# name -> (configs [(name, flags)], metrics[, options]). options: "env", the
# environment both programs run in; "baseline", (label, flags): a third run
# of gort's program with those flags added (alloc's glibc malloc/free),
# reported beside Go and gort. Targets: issue 2 (spawn, skynet,
# mutex, idle), issue 3 (pingpong, chanbuf, selectfan), issue 4 (timers,
# echo), issue 6 (deferpanic), issue 16 (finalize); the other GC workloads
# have none yet.
WORKLOADS = {
    "spawn": ([("default", "")], [Metric("ns/goroutine", NUM + r" ns/goroutine", ratio_max=0.5)]),
    "skynet": ([("default", "")], [Metric("ms", NUM + r" ms", ratio_max=0.5)]),
    "mutex": ([("default", "")], [Metric("ns/op", NUM + r" ns/op", ratio_max=1.0)]),
    "idle": ([("default", "")], [Metric("bytes/goroutine", NUM + r" bytes/goroutine", gort_max=4.5 * 1024)]),
    "pingpong": ([("default", "")], [Metric("ns/roundtrip", NUM + r" ns/roundtrip", ratio_max={1: 0.5, 2: 1.0})]),
    "chanbuf": ([("default", "")], [Metric("ns/item", NUM + r" ns/item", ratio_max=0.8)]),
    "selectfan": ([("default", "")], [Metric("ns/item", NUM + r" ns/item", ratio_max=0.8)]),
    "timers": ([("default", "")], [
        Metric("p99 lateness ms", r"p99_late=" + NUM, ratio_max=0.5),
        Metric("mean lateness ms", r"mean_late=" + NUM),
        Metric("total ms", r"total=" + NUM),
    ]),
    "echo": ([("c=200", "-c=200 -r=2000"), ("c=1000", "-c=1000 -r=400")],
             [Metric("roundtrips/s", NUM + r" roundtrips/s", better=HIGHER, ratio_min=1.2)]),
    "deferpanic": ([("default", "")], [
        Metric("defer ns/call", r"defer=" + NUM, ratio_max=2.0),
        Metric("panic+recover ns/call", r"panic_recover=" + NUM),
    ]),
    "alloc": ([(f"size={size} scan={scan}", f"-size={size} -scan={scan}")
               for size in (16, 64, 256) for scan in ("true", "false")],
              [Metric("ns/alloc", NUM + r" ns/alloc", ratio_max=0.7)],
              {"env": "GOGC=off", "baseline": ("glibc", "-glibc=true")}),
    "binarytrees": ([("n=18", "-n=18")], [
        Metric("ms", NUM + r" ms gcs"),
        Metric("max pause ms", r"max_pause=" + NUM),
    ]),
    "finalize": ([("n=1M", "-n=1000000")], [Metric("ns/object", NUM + r" ns/object", ratio_max=1.0)]),
    "gclatency": ([("live=1M", "-live=1000000 -ops=500000")], [
        Metric("max pause ms", r"max_pause=" + NUM),
        Metric("p99 pause ms", r"p99_pause=" + NUM),
        Metric("worst stall ms", r"worst_stall=" + NUM),
    ]),
}


def fmt(v):
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 1:
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return f"{v:.3g}"


def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
    except OSError:
        mem_kib = 0
    cxx = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout.splitlines()
    return (f"{cpu}, {os.cpu_count()} CPUs, {mem_kib / 2**20:.0f} GiB, Linux {platform.release()}, "
            f"{cxx[0] if cxx else 'unknown C++ compiler'}")


def read_results(path):
    """(workload, config, procs, impl) -> list of result lines."""
    runs = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 5)
            if len(parts) != 6:
                continue
            w, config, procs, impl, _, out = parts
            runs.setdefault((w, config, procs, impl), []).append(out)
    return runs


def median_of(lines, metric):
    vals = []
    failed = 0
    for out in lines:
        m = metric.regex.search(out) if not out.startswith("FAILED") else None
        if m:
            vals.append(float(m.group(1)))
        else:
            failed += 1
    return (statistics.median(vals) if vals else None), failed


def options(name):
    entry = WORKLOADS[name]
    return entry[2] if len(entry) > 2 else {}


def rows_for(name, runs):
    configs, metrics = WORKLOADS[name][:2]
    if (name, "-", "-", "gort") in runs:
        return None  # not yet implemented
    rows = []
    for config, _ in configs:
        procs_seen = sorted({int(k[2]) for k in runs if k[0] == name and k[1] == config})
        for procs in procs_seen:
            for metric in metrics:
                go, go_failed = median_of(runs.get((name, config, str(procs), "go"), []), metric)
                gort, gort_failed = median_of(runs.get((name, config, str(procs), "gort"), []), metric)
                ratio = gort / go if go and gort is not None else None
                target = metric.target(procs)
                met = None
                if target and gort is not None:
                    kind, bound = target
                    if kind == "ratio<=" and ratio is not None:
                        met = ratio <= bound
                    elif kind == "ratio>=" and ratio is not None:
                        met = ratio >= bound
                    elif kind == "gort<=":
                        met = gort <= bound
                base, _ = median_of(runs.get((name, config, str(procs), "baseline"), []), metric)
                rows.append({"config": config, "procs": procs, "metric": metric.label, "go": go, "gort": gort,
                             "baseline": base,
                             "ratio": ratio, "target": target, "met": met,
                             "failed": go_failed + gort_failed})
    return rows


def target_text(target):
    if not target:
        return "—"
    kind, bound = target
    return {"ratio<=": f"gort/Go ≤ {fmt(bound)}", "ratio>=": f"gort/Go ≥ {fmt(bound)}",
            "gort<=": f"gort ≤ {fmt(bound)}"}[kind]


def met_text(row):
    if row["failed"]:
        return f"{row['failed']} run(s) failed"
    if row["met"] is None:
        return "—"
    return "met" if row["met"] else "**not met**"


def section(name, rows, when, rounds):
    head = f"<!-- bench:{name} {json.dumps({'rows': rows})} -->\n### {name}\n\n"
    if rows is None:
        return head + "gort program not yet implemented (`bench/" + name + ".cpp`).\n<!-- /bench -->\n"
    configs = {r["config"] for r in rows}
    base = options(name).get("baseline")
    env = options(name).get("env")
    lines = [head, f"Measured {when}; median of {rounds} alternating rounds" + (f", both with {env}" if env else "") +
             ".\n\n",
             "| " + ("flags | " if len(configs) > 1 else "") + "GOMAXPROCS | metric | Go | gort | " +
             (f"{base[0]} | " if base else "") + "gort/Go | target | result |\n",
             "|" + ("---|" if len(configs) > 1 else "") + "---|---|---:|---:|" + ("---:|" if base else "") +
             "---:|---|---|\n"]
    for r in rows:
        lines.append("| " + (f"{r['config']} | " if len(configs) > 1 else "") +
                     f"{r['procs']} | {r['metric']} | {fmt(r['go'])} | {fmt(r['gort'])} | " +
                     (f"{fmt(r.get('baseline'))} | " if base else "") + f"{fmt(r['ratio'])} | "
                     f"{target_text(r['target'])} | {met_text(r)} |\n")
    lines.append("<!-- /bench -->\n")
    return "".join(lines)


def parse_existing(path):
    """name -> section text, from a previous BENCHMARKS.md."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        text = f.read()
    return {m.group(1): m.group(0) + "\n"
            for m in re.finditer(r"<!-- bench:(\w+) .*?<!-- /bench -->", text, re.S)}


def summary(sections):
    lines = ["| workload | GOMAXPROCS | metric | Go | gort | gort/Go | target | result |\n",
             "|---|---|---|---:|---:|---:|---|---|\n"]
    for name in WORKLOADS:
        text = sections.get(name)
        if text is None:
            lines.append(f"| {name} | | | | | | | not measured |\n")
            continue
        rows = json.loads(re.match(r"<!-- bench:\w+ (.*?) -->", text).group(1))["rows"]
        if rows is None:
            lines.append(f"| {name} | | | | | | | not yet implemented |\n")
            continue
        for r in rows:
            if not r["target"]:
                continue
            label = name + (f" ({r['config']})" if r["config"] != "default" else "")
            lines.append(f"| {label} | {r['procs']} | {r['metric']} | {fmt(r['go'])} | {fmt(r['gort'])} | {fmt(r['ratio'])} | "
                         f"{target_text(r['target'])} | {met_text(r)} |\n")
    return "".join(lines)


def write(args):
    runs = read_results(args.results)
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M") + " on " + machine() + "; " + args.go
    sections = parse_existing(args.write)
    for name in args.names:
        sections[name] = section(name, rows_for(name, runs), when, args.rounds)
    out = ["# Benchmarks\n\n",
           "Generated by `scripts/bench.sh`; do not edit by hand. Each gort program in `bench/` runs next to\n",
           "its Go anchor of the same name (`../shared/anchors/go/`) with the same flags, alternating which\n",
           "goes first, at GOMAXPROCS=1 and 2; the tables give the median of each metric. A ratio gort/Go\n",
           "below 1 means gort is faster, except for throughput (roundtrips/s), where above 1 is better.\n",
           "Targets are the ones the issues set. Run `scripts/bench.sh [workload...]` to refresh\n",
           "(naming workloads replaces only their sections). Each section says when and on what\n",
           "machine it was measured; run on a quiet machine for numbers worth quoting.\n\n",
           "## Summary\n\n", summary(sections), "\n## Workloads\n\n"]
    for name in WORKLOADS:
        if name in sections:
            out.append(sections[name] + "\n")
    with open(args.write, "w") as f:
        f.write("".join(out).rstrip("\n") + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--configs")
    ap.add_argument("--write")
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--go", default="")
    ap.add_argument("results", nargs="?")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    if args.list:
        print("\n".join(WORKLOADS))
    elif args.configs:
        opts = options(args.configs)
        base = opts.get("baseline", ("", ""))[1]
        for config, flags in WORKLOADS[args.configs][0]:
            print(f"{config}\t{flags}\t{opts.get('env', '')}\t{base}")
    elif args.write:
        write(args)
    else:
        ap.print_usage(sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
