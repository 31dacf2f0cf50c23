#!/usr/bin/env python3
"""benchreport.py: the workload table of scripts/bench.sh and its report.

Each workload of ../shared/anchors/go is described once here: the flag sets
it runs with (both programs get the same flags), the metrics read from its
one-line result, whether lower or higher is better, and the target (from the
issues: a bound on the ratio gort/Go, or on gort's own value).

  benchreport.py --list                 workload names, in report order
  benchreport.py --configs NAME         "config<TAB>flags<TAB>env<TAB>baselines"
                                        lines for bench.sh ("-" for none;
                                        baselines "label=flags|...")
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
    def __init__(self, label, pattern, better=LOWER, ratio_max=None, ratio_min=None, gort_max=None, gort_min=None,
                 vs=None):
        self.label = label
        self.vs = vs                # (baseline label, bound on gort/baseline), or None
        self.regex = re.compile(pattern)
        self.better = better
        self.ratio_max = ratio_max  # number, or {P: number}
        self.ratio_min = ratio_min
        self.gort_max = gort_max    # bounds on gort's own value
        self.gort_min = gort_min

    def target(self, procs, config="default"):
        # A bound may depend on GOMAXPROCS ({P: bound}) or on the
        # configuration (a function of both).
        def at(t):
            if callable(t):
                return t(procs, config)
            return t.get(procs) if isinstance(t, dict) else t
        if at(self.ratio_max) is not None:
            return ("ratio<=", at(self.ratio_max))
        if at(self.ratio_min) is not None:
            return ("ratio>=", at(self.ratio_min))
        if at(self.gort_max) is not None:
            return ("gort<=", at(self.gort_max))
        if at(self.gort_min) is not None:
            return ("gort>=", at(self.gort_min))
        return None


NUM = r"([0-9]+(?:\.[0-9]+)?)"
# bench.sh appends the peak RSS GNU time measured to every result line.
PEAK_RSS = r"peak_rss_kib=" + NUM

# name -> (configs [(name, flags[, env])], metrics[, options]). options:
# "env", the environment both programs run in (a configuration's own env
# replaces it); "baselines", [(label, flags)]: more
# runs of gort's program, one with each label's flags added (alloc's glibc
# malloc/free, maps' absl/boost/std tables), reported beside Go and gort;
# "costs", {config: (base config, [Metric])}: rows of what a config costs
# against its base, each program against itself (traced over untraced),
# whose targets replace the config's own.
# Targets: issue 2 (spawn, skynet, mutex, idle), issue 3 (pingpong,
# chanbuf, selectfan), issue 4 (timers, echo), issue 6 (deferpanic), issue
# 17 (maps: every phase gort/Go <= 0.7 at GOMAXPROCS 1, hits and misses
# within 1.25x of absl), issue 19 (tracing costs gort no more than Go's
# tracer costs Go; echo traced within 5% of untraced), issue 15 (the
# collector: binarytrees, gclatency, alloc with the collector on, memlimit),
# issue 16 (finalize).
TRACED = ("traced", "-trace=/dev/null")
PROFILED = ("cpuprofile", "-cpuprofile=/dev/null")


def costs(pattern, *configs, better=LOWER, **target):
    """Rows of what each config costs against "default" (issue 18: the CPU
    profiler, issue 19: the tracer; each no dearer to gort than to Go)."""
    return {"costs": {c: ("default", [Metric(f"{c}/default", pattern, better, **target)]) for c in configs}}



WORKLOADS = {
    "spawn": ([("default", "")], [Metric("ns/goroutine", NUM + r" ns/goroutine", ratio_max=0.5)]),
    "skynet": ([("default", ""), TRACED, PROFILED], [Metric("ms", NUM + r" ms", ratio_max=0.5)],
               costs(NUM + r" ms", "traced", "cpuprofile", ratio_max=1.0)),
    "mutex": ([("default", "")], [Metric("ns/op", NUM + r" ns/op", ratio_max=1.0)]),
    "idle": ([("default", "")], [Metric("bytes/goroutine", NUM + r" bytes/goroutine", gort_max=4.5 * 1024)]),
    "pingpong": ([("default", ""), TRACED], [Metric("ns/roundtrip", NUM + r" ns/roundtrip", ratio_max={1: 0.5, 2: 1.0})],
                 costs(NUM + r" ns/roundtrip", "traced", ratio_max=1.0)),
    "chanbuf": ([("default", "")], [Metric("ns/item", NUM + r" ns/item", ratio_max=0.8)]),
    "selectfan": ([("default", "")], [Metric("ns/item", NUM + r" ns/item", ratio_max=0.8)]),
    "timers": ([("default", "")], [
        Metric("p99 lateness ms", r"p99_late=" + NUM, ratio_max=0.5),
        Metric("mean lateness ms", r"mean_late=" + NUM),
        Metric("total ms", r"total=" + NUM),
    ]),
    "echo": ([("c=200", "-c=200 -r=2000"), ("c=1000", "-c=1000 -r=400"), ("c=200 traced", "-c=200 -r=2000 -trace=/dev/null"),
              ("c=200 cpuprofile", "-c=200 -r=2000 -cpuprofile=/dev/null")],
             [Metric("roundtrips/s", NUM + r" roundtrips/s", better=HIGHER, ratio_min=1.2)],
             {"costs": {"c=200 traced": ("c=200", [Metric("traced/untraced", NUM + r" roundtrips/s", HIGHER,
                                                               gort_min=0.95)]),
                        "c=200 cpuprofile": ("c=200", [Metric("profiled/unprofiled", NUM + r" roundtrips/s", HIGHER,
                                                                   ratio_min=1.0)])}}),
    "deferpanic": ([("default", "")], [
        Metric("defer ns/call", r"defer=" + NUM, ratio_max=2.0),
        Metric("panic+recover ns/call", r"panic_recover=" + NUM),
    ]),
    "alloc": ([(f"size={size} scan={scan}", f"-size={size} -scan={scan}")
               for size in (16, 64, 256) for scan in ("true", "false")] +
              [(f"size={size} scan={scan} GOGC=100", f"-size={size} -scan={scan}", "GOGC=100")
               for size in (16, 64, 256) for scan in ("true", "false")],
              [Metric("ns/alloc", NUM + r" ns/alloc", ratio_max=lambda p, c: 0.8 if "GOGC=100" in c else 0.7)],
              {"env": "GOGC=off", "baselines": [("glibc", "-glibc=true")]}),
    "maps": ([(f"key={k} n={n}", f"-key={k} -n={n}" + (" -r=1000" if n == 1000 else ""))
              for k in ("int", "string") for n in (1000, 1000000)],
             [Metric("insert ns/op", r"insert " + NUM, ratio_max={1: 0.7}),
              Metric("hit ns/op", r"hit " + NUM, ratio_max={1: 0.7}, vs=("absl", 1.25)),
              Metric("miss ns/op", r"miss " + NUM, ratio_max={1: 0.7}, vs=("absl", 1.25)),
              Metric("iter ns/elem", r"iter " + NUM, ratio_max={1: 0.7}),
              Metric("delete ns/op", r"delete " + NUM, ratio_max={1: 0.7})],
             {"baselines": [("absl", "-impl=absl"), ("boost", "-impl=boost"), ("std", "-impl=std")]}),
    "binarytrees": ([("n=21", "-n=21")], [
        Metric("ms", NUM + r" ms gcs", ratio_max=0.8),
        Metric("peak RSS KiB", PEAK_RSS, ratio_max=1.0),
        Metric("max pause ms", r"max_pause=" + NUM, gort_max=0.5),
    ]),
    "gclatency": ([("live=1M", "-live=1000000 -ops=500000")], [
        Metric("max pause ms", r"max_pause=" + NUM, gort_max=0.5),
        Metric("p99 pause ms", r"p99_pause=" + NUM, ratio_max=1.0),
        Metric("worst stall ms", r"worst_stall=" + NUM, ratio_max=0.5),
        Metric("peak RSS KiB", PEAK_RSS),
    ]),
    "memlimit": ([("GOGC=off GOMEMLIMIT=256MiB", "", "GOGC=off GOMEMLIMIT=256MiB"), ("default", "")], [
        Metric("ms", NUM + r" ms gcs", ratio_max=lambda p, c: 1.0 if "GOMEMLIMIT" in c else None),
        Metric("peak RSS MiB", r"peak_rss=" + NUM,
               gort_max=lambda p, c: 269 if "GOMEMLIMIT" in c else None,
               ratio_max=lambda p, c: None if "GOMEMLIMIT" in c else 1.0),
        Metric("gcs", r"gcs=" + NUM),
        Metric("GC CPU %", r"gc_cpu=" + NUM),
    ]),
    "finalize": ([("n=1M", "-n=1000000")], [Metric("ns/object", NUM + r" ns/object", ratio_max=1.0)]),
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


def baselines(name):
    return options(name).get("baselines", [])


def rows_for(name, runs):
    configs, metrics = WORKLOADS[name][:2]
    if (name, "-", "-", "gort") in runs:
        return None  # not yet implemented
    rows = []
    costs = options(name).get("costs", {})

    def medians(config, procs, metric):
        go, go_failed = median_of(runs.get((name, config, str(procs), "go"), []), metric)
        gort, gort_failed = median_of(runs.get((name, config, str(procs), "gort"), []), metric)
        return go, gort, go_failed + gort_failed

    def judged(target, gort, ratio):
        if not target or gort is None:
            return None
        kind, bound = target
        if kind in ("ratio<=", "ratio>=") and ratio is None:
            return None
        return {"ratio<=": lambda: ratio <= bound, "ratio>=": lambda: ratio >= bound,
                "gort<=": lambda: gort <= bound, "gort>=": lambda: gort >= bound}[kind]()

    for config, *_ in configs:
        procs_seen = sorted({int(k[2]) for k in runs if k[0] == name and k[1] == config})
        for procs in procs_seen:
            for metric in metrics:
                go, gort, failed = medians(config, procs, metric)
                ratio = gort / go if go and gort is not None else None
                target = None if config in costs else metric.target(procs, config)
                met = judged(target, gort, ratio)
                bases = {label: median_of(runs.get((name, config, str(procs), "baseline:" + label), []), metric)[0]
                         for label, _ in baselines(name)}
                vs = None
                if metric.vs and gort is not None and bases.get(metric.vs[0]):
                    vs = gort / bases[metric.vs[0]]
                    met = (met is not False) and vs <= metric.vs[1]
                rows.append({"config": config, "procs": procs, "metric": metric.label, "go": go, "gort": gort,
                             "baselines": bases, "vs": vs, "vs_target": metric.vs,
                             "ratio": ratio, "target": target, "met": met, "failed": failed})
            base, cost_metrics = costs.get(config, (None, []))
            for metric in cost_metrics:
                go, gort, failed = medians(config, procs, metric)
                go0, gort0, failed0 = medians(base, procs, metric)
                go = go / go0 if go is not None and go0 else None
                gort = gort / gort0 if gort is not None and gort0 else None
                ratio = gort / go if go and gort is not None else None
                target = metric.target(procs, config)
                rows.append({"config": config, "procs": procs, "metric": metric.label, "go": go, "gort": gort,
                             "baselines": {}, "vs": None, "vs_target": None,
                             "ratio": ratio, "target": target, "met": judged(target, gort, ratio),
                             "failed": failed + failed0})
    return rows


def target_text(target, vs=None):
    parts = []
    if target:
        kind, bound = target
        parts.append({"ratio<=": f"gort/Go ≤ {fmt(bound)}", "ratio>=": f"gort/Go ≥ {fmt(bound)}",
                      "gort<=": f"gort ≤ {fmt(bound)}", "gort>=": f"gort ≥ {fmt(bound)}"}[kind])
    if vs:
        parts.append(f"gort/{vs[0]} ≤ {fmt(vs[1])}")
    return ", ".join(parts) or "—"


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
    base = [label for label, _ in baselines(name)]
    env = options(name).get("env")
    own_env = any(len(c) > 2 for c in WORKLOADS[name][0])
    env_text = (f", both with {env}" + (" unless the configuration names its own" if own_env else "")) if env else ""
    lines = [head, f"Measured {when}; median of {rounds} alternating rounds" + env_text + ".\n\n",
             "| " + ("flags | " if len(configs) > 1 else "") + "GOMAXPROCS | metric | Go | gort | " +
             "".join(f"{b} | " for b in base) + "gort/Go | target | result |\n",
             "|" + ("---|" if len(configs) > 1 else "") + "---|---|---:|---:|" + "---:|" * len(base) +
             "---:|---|---|\n"]
    for r in rows:
        lines.append("| " + (f"{r['config']} | " if len(configs) > 1 else "") +
                     f"{r['procs']} | {r['metric']} | {fmt(r['go'])} | {fmt(r['gort'])} | " +
                     "".join(f"{fmt(r['baselines'].get(b))} | " for b in base) + f"{fmt(r['ratio'])} | "
                     f"{target_text(r['target'], r.get('vs_target'))} | {met_text(r)} |\n")
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
            if not r["target"] and not r.get("vs_target"):
                continue
            label = name + (f" ({r['config']})" if r["config"] != "default" else "")
            lines.append(f"| {label} | {r['procs']} | {r['metric']} | {fmt(r['go'])} | {fmt(r['gort'])} | {fmt(r['ratio'])} | "
                         f"{target_text(r['target'], r.get('vs_target'))} | {met_text(r)} |\n")
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
        base = "|".join(f"{label}={flags}" for label, flags in baselines(args.configs))
        for config, flags, *env in WORKLOADS[args.configs][0]:
            env = env[0] if env else opts.get("env")
            # "-" for an empty field: bash's read collapses adjacent tabs.
            print(f"{config}\t{flags or '-'}\t{env or '-'}\t{base or '-'}")
    elif args.write:
        write(args)
    else:
        ap.print_usage(sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
