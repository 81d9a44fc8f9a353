#!/usr/bin/env python3
"""Syscalls per request of each proxy in bench/h2_compare.py's scenarios (kernel-side work).

Starts the demo backend and the proxies exactly as bench/h2_compare.py does (same listeners,
pinning, one worker), then per (scenario, proxy): `perf stat -e syscalls:sys_enter_<name>,...`
attached to the proxy's processes (every thread) during two bounded load runs of N and 2N
requests; the per-request figure is (count(2N) - count(N)) / N, so connection set-up and TLS
handshakes (the same number of connections in both runs) cancel out. Syscall tracepoints count
exactly and cost little, unlike strace, which slows the proxy enough to change its batching.

  bench/syscall_count.py --only tls-m1 h1 --requests 20000

Needs perf with syscall tracepoints (root or perf_event_paranoid <= -1). Prints a markdown
table: syscalls per request by name, and bytes per write-side call where perf reports them.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import h2_compare  # noqa: E402
import harness  # noqa: E402
from harness import ROOT, log, process_tree, run_guarded  # noqa: E402

SYSCALLS = ("read", "readv", "recvfrom", "recvmsg", "write", "writev", "sendto", "sendmsg",
            "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "accept4", "close",
            "shutdown", "setsockopt", "getsockopt", "ioctl", "futex", "timerfd_settime",
            "clock_gettime", "connect", "socket", "getsockname", "getpeername", "brk", "mmap",
            "munmap", "madvise", "io_uring_enter", "sched_yield", "fcntl", "rt_sigprocmask")


def perf_stat(pids: list[int], out: Path) -> subprocess.Popen:
    events = ",".join(f"syscalls:sys_enter_{name}" for name in SYSCALLS)
    argv = ["perf", "stat", "-x", ",", "-o", str(out), "-e", "raw_syscalls:sys_enter", "-e",
            events, "-p", ",".join(str(p) for p in pids)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=harness._die_with_parent)
    time.sleep(0.5)  # perf opens its counters before the load starts
    return proc


def read_counts(out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in out.read_text().splitlines():
        fields = line.split(",")
        if len(fields) < 3 or not fields[0].strip().isdigit():
            continue
        name = re.sub(r"^(raw_)?syscalls:sys_enter_?", "", fields[2]) or "total"
        counts[name] = counts.get(name, 0) + int(fields[0])
    return counts


def cpu_split(root: int) -> tuple[float, float]:
    """utime and stime (s) of root's processes."""
    user = system = 0
    for pid in process_tree(root):
        fields = harness._stat_fields(pid)
        if fields is not None:
            user += int(fields[11])
            system += int(fields[12])
    return user / harness.CLK_TCK, system / harness.CLK_TCK


def counted_run(bench: harness.Bench, target: h2_compare.H2Target, scenario: tuple,
                requests: int) -> tuple[dict[str, int], int]:
    """Syscall counts of target during one load run; and the requests the backend served."""
    out = bench.run_dir / f"perf-{target.name}.csv"
    pids = [pid for pid in process_tree(target.pid)]
    backend0 = harness.backend_requests(bench.blue_port)
    perf = perf_stat(pids, out)
    user0, system0 = cpu_split(target.pid)
    key, _, listener, tool, streams, connections = scenario
    if tool == "wrk":
        # wrk runs for a duration; the backend's count says how many requests it made.
        h2_compare.wrk(bench, target, listener, connections, max(1, requests // 20000))
    else:
        h2_compare.h2load(bench, target, listener, streams, connections, 1, None,
                          requests=requests)
    served = harness.backend_requests(bench.blue_port) - backend0
    user1, system1 = cpu_split(target.pid)
    perf.send_signal(signal.SIGINT)
    perf.wait(10)
    counts = read_counts(out)
    # CPU microseconds, in the table's units after the division by requests.
    counts["cpu_user_us"] = round((user1 - user0) * 1e6)
    counts["cpu_system_us"] = round((system1 - system0) * 1e6)
    return counts, served


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=str(ROOT / "build"))
    parser.add_argument("--only", nargs="*", default=["h1", "tls-m1"])
    parser.add_argument("--proxies", nargs="*", default=["switchyard", "nginx"],
                        choices=h2_compare.PROXIES)
    parser.add_argument("--requests", type=int, default=20000,
                        help="h2load requests of the short run (the long one makes twice that)")
    parser.add_argument("--connections", type=int, default=0,
                        help="instead of the scenario's connection count (h2load -c, wrk -c)")
    parser.add_argument("--strace", type=int, default=0,
                        help="then print strace's view of an h2load -c1 -m1 run of this many "
                             "requests over TLS against each proxy")
    parser.add_argument("--record", type=int, default=0,
                        help="then a perf record (cpu-clock) of a run of this many requests "
                             "per scenario and proxy: where the time goes, kernel and user")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    bench = harness.Bench(harness.parse_args(["--build-dir", args.build_dir, "--idle"]))

    def measure() -> int:
        h2_compare.make_certificate(bench.run_dir)
        bench.start_backends()
        classes = {"switchyard": h2_compare.H2Switchyard, "nginx": h2_compare.H2Nginx,
                   "haproxy": h2_compare.H2Haproxy}
        targets = {}
        for name in args.proxies:
            targets[name] = classes[name](bench)
            targets[name].start()
        table: dict[str, dict[str, dict[str, float]]] = {}
        scenarios = [s for s in h2_compare.SCENARIOS if s[0] in args.only]
        if args.connections:  # e.g. 1: one request at a time, no batching across connections
            scenarios = [(s[0], s[1], s[2], s[3], s[4], args.connections) for s in scenarios]
        for scenario in scenarios:
            table[scenario[0]] = {}
            for name, target in targets.items():
                if scenario[0] in h2_compare.ONLY_SWITCHYARD and name != "switchyard":
                    continue
                if scenario[3] == "wrk":  # warm-up
                    h2_compare.measure(bench, target, scenario, 1)
                else:  # by count: an h2load -D run may hang on connections mid-handshake
                    counted_run(bench, target, scenario, args.requests // 4)
                short, n_short = counted_run(bench, target, scenario, args.requests)
                long, n_long = counted_run(bench, target, scenario, 2 * args.requests)
                log(f"  {name}: {n_short} and {n_long} requests, {short.get('total')} and "
                    f"{long.get('total')} syscalls")
                if scenario[3] == "wrk":
                    # wrk runs for a duration and keeps its connections: set-up is noise.
                    served = n_long
                    per = {k: v / served for k, v in long.items()}
                else:
                    served = n_long - n_short
                    per = {k: (long.get(k, 0) - short.get(k, 0)) / served for k in long}
                table[scenario[0]][name] = per
                log(f"{scenario[0]} {name}: {served} requests, "
                    f"{per.get('total', 0):.2f} syscalls per request")
        if args.record:
            for scenario in scenarios:
                for name, target in targets.items():
                    data = bench.run_dir / f"perf-{scenario[0]}-{name}.data"
                    recorder = subprocess.Popen(
                        ["perf", "record", "-e", "cpu-clock", "-F", "4000", "-o", str(data), "-p",
                         ",".join(str(p) for p in process_tree(target.pid))],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        start_new_session=True, preexec_fn=harness._die_with_parent)
                    time.sleep(1.0)
                    _, served = counted_run(bench, target, scenario, args.record)
                    recorder.send_signal(signal.SIGINT)
                    recorder.wait(30)
                    report = subprocess.run(
                        ["perf", "report", "-i", str(data), "--stdio", "--sort", "dso,sym",
                         "--percent-limit", "0.7"], capture_output=True, text=True).stdout
                    samples = subprocess.run(
                        ["perf", "report", "-i", str(data), "--stdio", "--sort", "dso", "-n"],
                        capture_output=True, text=True).stdout
                    by_dso = {line.split()[2]: int(line.split()[1])
                              for line in samples.splitlines()
                              if line.strip() and not line.startswith("#")}
                    total = sum(by_dso.values())
                    kernel = by_dso.get("[kernel.kallsyms]", 0)
                    # 4 kHz: a sample is 250 us of CPU.
                    print(f"### perf record cpu-clock 4 kHz, {scenario[0]}, {name}, "
                          f"{served} requests: {total * 250 / served:.1f} us CPU per request, "
                          f"kernel {kernel * 250 / served:.1f}, user "
                          f"{(total - kernel) * 250 / served:.1f}\n")
                    print("\n".join(line for line in samples.splitlines()
                                    if line and not line.startswith("#")))
                    print("\n".join(line for line in report.splitlines()
                                    if line and not line.startswith("#")))
        if args.strace:
            for name, target in targets.items():
                trace = bench.run_dir / f"strace-{name}.txt"
                tracer = subprocess.Popen(
                    ["strace", "-f", "-qq", "-o", str(trace), "-e", "trace=!futex,clock_gettime",
                     "-e", "abbrev=all", "-s", "0", "-p",
                     ",".join(str(p) for p in process_tree(target.pid))],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    start_new_session=True, preexec_fn=harness._die_with_parent)
                time.sleep(1.0)
                h2_compare.h2load(bench, target, "tls", 1, 1, 1, None, requests=args.strace)
                time.sleep(0.5)
                tracer.send_signal(signal.SIGINT)
                tracer.wait(10)
                print(f"### strace, {name}, h2load -c1 -m1 -n{args.strace} over TLS\n")
                print(trace.read_text())
        lines = []
        for key, by_proxy in table.items():
            names = list(by_proxy)
            lines += [f"### {key} (syscalls per request, (2N - N) / N requests, N = "
                      f"{args.requests})", "", "| syscall | " + " | ".join(names) + " |",
                      "|---|" + "---:|" * len(names)]
            rows = sorted({k for per in by_proxy.values() for k, v in per.items() if v >= 0.005},
                          key=lambda k: (k != "total", -max(p.get(k, 0) for p in by_proxy.values())))
            for row in rows:
                lines.append(f"| {row} | " + " | ".join(f"{by_proxy[n].get(row, 0):.2f}"
                                                        for n in names) + " |")
            lines.append("")
        print("\n".join(lines))
        return 0

    return run_guarded(bench, args, measure)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
