#!/usr/bin/env python3
"""Turns switchyard_bench's JSON output into the markdown table of bench/README.md.

  micro_table.py RESULTS.json [--update bench/README.md]

Uses the median aggregate of each benchmark (CPU time per iteration; for the counter benchmarks,
per increment). With --update, replaces the text between the micro-table markers of the README.
"""

import argparse
import json
import os
import re
import sys

BEGIN = "<!-- micro-table: begin -->"
END = "<!-- micro-table: end -->"

# Benchmark family -> (section, what one operation is)
SECTIONS = [
    ("HTTP codec", ("BM_Parse", "BM_Rewrite", "BM_ProxyCycle")),
    ("Balancers", ("BM_RoundRobin", "BM_LeastRequest", "BM_Hash", "BM_PickWith", "BM_Ring")),
    ("Routing", ("BM_RouteMatch", "BM_ChoosePool", "BM_RouteAndChoose")),
    ("Snapshots: flip and reload", ("BM_SnapshotBuild", "BM_WorkerAdopt")),
    ("Counters (time per increment on each thread)",
     ("BM_LocalCounter", "BM_Atomic", "BM_Prometheus")),
]


def fmt_ns(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    if ns >= 10:
        return f"{ns:.0f} ns"
    return f"{ns:.2f} ns"


def to_ns(value: float, unit: str) -> float:
    return value * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("json")
    parser.add_argument("--update", metavar="README")
    args = parser.parse_args()
    with open(args.json) as f:
        data = json.load(f)
    ctx = data["context"]
    rows = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name", "median") != "median":
            continue
        name = b.get("run_name", b["name"]).replace("/real_time", "")
        ns = to_ns(b["cpu_time"], b["time_unit"])
        if name.startswith(("BM_LocalCounter", "BM_Atomic", "BM_Prometheus")):
            # Wall time per increment on each thread: equal for 1 and 2 threads without
            # contention, higher when the threads fight over a cache line.
            ns = b.get("threads", 1) * 1e9 / b["items_per_second"]
        extra = ""
        if "head_bytes" in b:
            extra = f"{b['head_bytes']:.0f}-byte head"
        if "points" in b:
            extra = f"{b['points']:.0f} ring points"
        rows[name] = (ns, extra)

    lines = [BEGIN,
             f"Median of 5 repetitions, CPU time per operation. Machine: {ctx.get('num_cpus')} × "
             f"{ctx.get('mhz_per_cpu')} MHz, load average {ctx.get('load_avg', [0])[0]:.2f} at "
             f"the start, {ctx.get('date', '')[:16]}. Reproduce: `bench/micro.sh` "
             "(`--update` rewrites this table).", ""]
    used = set()
    for title, prefixes in SECTIONS:
        names = [n for n in rows if n.startswith(prefixes)]
        if not names:
            continue
        lines += [f"**{title}**", "", "| benchmark | time | |", "|---|---:|---|"]
        for name in names:
            ns, extra = rows[name]
            lines.append(f"| `{name.removeprefix('BM_')}` | {fmt_ns(ns)} | {extra} |")
            used.add(name)
        lines.append("")
    rest = [n for n in rows if n not in used]
    if rest:
        lines += ["**Other**", "", "| benchmark | time | |", "|---|---:|---|"]
        lines += [f"| `{n.removeprefix('BM_')}` | {fmt_ns(rows[n][0])} | {rows[n][1]} |"
                  for n in rest]
        lines.append("")
    lines.append(END)
    table = "\n".join(lines)
    print(table)
    if args.update:
        text = open(args.update).read() if os.path.exists(args.update) else ""
        if BEGIN in text and END in text:
            text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: table, text,
                          flags=re.S)
        else:
            text += "\n" + table + "\n"
        with open(args.update, "w") as f:
            f.write(text)
        print(f"micro_table.py: updated {args.update}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
