#!/usr/bin/env python3
"""The benchmark driver behind `./tools/dev bench` (see docs/performance.md).

Runs every workload of shared/BENCHMARKS.md for executor and its baselines, alternating
(executor, baseline, executor, baseline, ...), at least 5 rounds, and prints one Markdown table:
executor's median, each baseline's median, and the ratio executor/baseline as the median of the
per-round ratios with their min-max. Raw results go to <build-dir>/bench-results/results.json,
the table to results.md and a chart of the ratios to ratios.svg.

Every benchmark process prints machine-readable lines such as
    impl=executor workload=spawn_join n=1000000 iterations=3 seconds=0.41 ops_per_s=2.4e6 ...
and the driver parses those lines only.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

# --------------------------------------------------------------------------------------------
# What is measured


@dataclasses.dataclass
class Metric:
    key: str  # field of the result line
    label: str  # row label in the table
    unit: str  # how the value is shown
    higher_is_better: bool
    scale: float = 1.0  # multiply the raw value by this for display


@dataclasses.dataclass
class Target:
    """A target from the issue: an absolute bound on executor's median or a bound on a ratio."""

    text: str
    check: Callable[[dict], bool | None]  # gets {"median": {impl: v}, "ratio": {impl: r}}


@dataclasses.dataclass
class Impl:
    name: str  # executor, asio, uring
    argv: list[str]  # relative to the build dir's bench/ folder; first item is the binary
    kind: str = "gbench"  # gbench (harness binary) | program | echo (server + load generator)


@dataclasses.dataclass
class Workload:
    name: str
    description: str
    metrics: list[Metric]
    impls: list[Impl]
    targets: dict[str, list[Target]]  # by metric key
    rss: bool = False  # report peak RSS


def rate(label: str, unit: str = "M/s") -> Metric:
    return Metric("ops_per_s", label, unit, True, 1e-6)


def at_least(v: float, text: str) -> Target:
    return Target(text, lambda r: r["median"].get("executor", 0) >= v)


def at_most(v: float, text: str) -> Target:
    return Target(text, lambda r: r["median"].get("executor", float("inf")) <= v)


def ratio_at_least(impl: str, v: float, text: str) -> Target:
    return Target(text, lambda r: None if impl not in r["ratio"] else r["ratio"][impl] >= v)


def ratio_at_most(impl: str, v: float, text: str) -> Target:
    return Target(text, lambda r: None if impl not in r["ratio"] else r["ratio"][impl] <= v)


AHEAD_OF_ASIO_RATE = ratio_at_least("asio", 1.0, "ahead of Asio")
AHEAD_OF_ASIO_TIME = ratio_at_most("asio", 1.0, "ahead of Asio")


def gb(binary: str, workload: str) -> list[str]:
    return [binary, f"--benchmark_filter=^{workload}/", "--benchmark_color=false"]


WORKLOADS: list[Workload] = [
    Workload(
        "spawn_join",
        "one task spawns 1,000,000 trivial tasks, then awaits every handle",
        [rate("tasks/s")],
        [
            Impl("executor", gb("core_spawn_join_bench", "spawn_join")),
            Impl("asio", gb("baseline_asio_bench", "spawn_join")),
        ],
        {"ops_per_s": [at_least(3.2e6, "≥ 3.2 M/s"), AHEAD_OF_ASIO_RATE]},
        rss=True,
    ),
    Workload(
        "spawn_join_batched",
        "the same in batches of 1,000 (spawn 1,000, await them, repeat)",
        [rate("tasks/s")],
        [
            Impl("executor", gb("core_spawn_join_bench", "spawn_join_batched")),
            Impl("asio", gb("baseline_asio_bench", "spawn_join_batched")),
        ],
        {"ops_per_s": [at_least(3.2e6, "≥ 3.2 M/s"), AHEAD_OF_ASIO_RATE]},
        rss=True,
    ),
    Workload(
        "ping_pong",
        "two tasks pass a value back and forth over a pair of channels 1,000,000 times",
        [rate("round trips/s")],
        [
            Impl("executor", gb("sync_ping_pong_bench", "ping_pong")),
            Impl("asio", gb("baseline_asio_bench", "ping_pong")),
        ],
        {"ops_per_s": [at_least(3e6, "≥ 3 M/s"), AHEAD_OF_ASIO_RATE]},
    ),
    Workload(
        "yield",
        "1,000 tasks each yield 1,000 times",
        [rate("yields/s")],
        [
            Impl("executor", gb("core_yield_bench", "yield")),
            Impl("asio", gb("baseline_asio_bench", "yield")),
        ],
        {"ops_per_s": [at_least(17e6, "≥ 17 M/s"), AHEAD_OF_ASIO_RATE]},
    ),
    Workload(
        "mutex",
        "8 tasks each lock an async mutex and increment a shared counter 100,000 times",
        [rate("lock ops/s")],
        [
            Impl("executor", gb("sync_mutex_bench", "mutex")),
            Impl("asio", gb("baseline_asio_bench", "mutex")),
        ],
        {"ops_per_s": [at_least(12e6, "≥ 12 M/s"), AHEAD_OF_ASIO_RATE]},
    ),
    Workload(
        "timers",
        "100,000 tasks each sleep 10 ms at once",
        [
            Metric("seconds", "wall time", "ms", False, 1e3),
            Metric("overshoot_mean_ms", "mean overshoot", "ms", False),
        ],
        [
            Impl("executor", ["timers_executor"], "program"),
            Impl("asio", ["baseline_asio_timers"], "program"),
        ],
        {
            "seconds": [at_most(0.150, "≤ 150 ms"), AHEAD_OF_ASIO_TIME],
            "overshoot_mean_ms": [at_most(0.5, "≤ 0.5 ms"), AHEAD_OF_ASIO_TIME],
            "peak_rss_kb": [at_most(64 * 1024, "≤ 64 MiB")],
        },
        rss=True,
    ),
    Workload(
        "io_nop",
        "io_uring NOPs submitted and completed through the runtime, 32 in flight",
        [rate("NOPs/s")],
        [
            Impl("executor", gb("runtime_io_nop_bench", "io_nop")),
            Impl("uring", gb("baseline_uring_bench", "io_nop")),
        ],
        {"ops_per_s": [ratio_at_least("uring", 0.5, "≥ 0.5× raw liburing")]},
    ),
    Workload(
        "file_read",
        "4 KiB random reads from a 256 MiB file in the page cache, 32 in flight",
        [rate("reads/s")],
        [
            Impl("executor", gb("runtime_file_read_bench", "file_read")),
            Impl("asio", gb("baseline_asio_bench", "file_read")),
            Impl("uring", gb("baseline_uring_bench", "file_read")),
        ],
        {"ops_per_s": [at_least(1.3e6, "≥ 1.3 M/s"), AHEAD_OF_ASIO_RATE]},
    ),
    Workload(
        "tcp_echo",
        "echo server on 127.0.0.1; the load generator keeps 50 connections with one 64-byte "
        "message each in flight for 5 s",
        [
            Metric("msgs_per_s", "messages/s", "k/s", True, 1e-3),
            Metric("p50_us", "p50 latency", "µs", False),
            Metric("p99_us", "p99 latency", "µs", False),
            Metric("cpu_us_per_msg", "server CPU per message", "µs", False),
        ],
        [
            Impl("executor", ["echo_server_executor"], "echo"),
            Impl("asio", ["baseline_asio_echo_server"], "echo"),
            Impl("uring", ["baseline_uring_echo_server"], "echo"),
        ],
        {
            "msgs_per_s": [ratio_at_least("uring", 1.0, "≥ 1.0× raw"), AHEAD_OF_ASIO_RATE],
            "p99_us": [ratio_at_most("uring", 1.2, "≤ 1.2× raw"), AHEAD_OF_ASIO_TIME],
            "cpu_us_per_msg": [ratio_at_most("uring", 1.0, "≤ 1.0× raw"), AHEAD_OF_ASIO_TIME],
        },
    ),
]

BASELINE_TITLES = {"asio": "Boost.Asio", "uring": "raw liburing"}

# --------------------------------------------------------------------------------------------
# Running one process


class RunError(Exception):
    pass


LINE_RE = re.compile(r"impl=\S+ workload=\S+.*")


def parse_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        m = LINE_RE.search(line)
        if not m:
            continue
        fields = {}
        for item in m.group(0).split():
            if "=" not in item:
                continue
            k, v = item.split("=", 1)
            try:
                fields[k] = float(v)
            except ValueError:
                fields[k] = v
        out.append(fields)
    return out


def run_process(argv: list[str], timeout: float) -> str:
    """Runs argv and returns its stdout. Raises RunError on failure."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RunError(f"{' '.join(argv)}: timed out after {timeout:.0f} s")
    if proc.returncode != 0:
        tail = "\n".join(err.strip().splitlines()[-5:])
        raise RunError(f"{' '.join(argv)}: exit code {proc.returncode}\n{tail}")
    return out


def proc_cpu_seconds(pid: int) -> float:
    """user+sys CPU time of a live process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RunError(f"the server exited early (code {proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RunError(f"the server did not listen on port {port} within {timeout:.0f} s")


QUICK_OPS_FRACTION = 0.1
ECHO_SECONDS = 5.0  # shared/BENCHMARKS.md
QUICK_ECHO_SECONDS = 1.0


class Runner:
    def __init__(self, bench_dir: Path, quick: bool, verbose: bool):
        self.bench_dir = bench_dir
        self.quick = quick
        self.verbose = verbose

    def available(self, impl: Impl) -> bool:
        if not (self.bench_dir / impl.argv[0]).is_file():
            return False
        if impl.kind == "echo":
            return (self.bench_dir / "loadgen").is_file()
        return True

    def run(self, workload: Workload, impl: Impl) -> dict:
        argv = [str(self.bench_dir / impl.argv[0])] + impl.argv[1:]
        if impl.kind == "echo":
            return self.run_echo(workload, impl, argv)
        if self.quick:
            # One timed iteration; the I/O workloads (the only ones that honour it) also run a
            # tenth of their operations per iteration, the same for every implementation.
            argv.append("--iterations=1")
            if impl.kind == "gbench":
                argv.append(f"--ops_fraction={QUICK_OPS_FRACTION}")
        out = run_process(argv, timeout=600)
        lines = [l for l in parse_lines(out) if l.get("workload") == workload.name]
        if not lines:
            raise RunError(f"{' '.join(argv)}: printed no result line for {workload.name}")
        return lines[-1]

    def run_echo(self, workload: Workload, impl: Impl, argv: list[str]) -> dict:
        seconds = QUICK_ECHO_SECONDS if self.quick else ECHO_SECONDS
        port = free_port()
        server = subprocess.Popen(
            argv + [f"--port={port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            wait_for_port(port, server)
            cpu_before = proc_cpu_seconds(server.pid)
            out = run_process(
                [
                    str(self.bench_dir / "loadgen"),
                    "--host=127.0.0.1",
                    f"--port={port}",
                    "--connections=50",
                    "--size=64",
                    f"--seconds={seconds}",
                ],
                timeout=seconds + 60,
            )
            cpu_after = proc_cpu_seconds(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.communicate()
        lines = parse_lines(out)
        if not lines:
            raise RunError("the load generator printed no result line")
        r = dict(lines[-1])
        r["impl"] = impl.name
        r["workload"] = workload.name
        msgs = r.get("messages_total", 0)  # includes the warm-up, like the CPU time
        r["server_cpu_s"] = cpu_after - cpu_before
        r["cpu_us_per_msg"] = (cpu_after - cpu_before) / msgs * 1e6 if msgs else float("nan")
        return r


# --------------------------------------------------------------------------------------------
# Statistics and output


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def summarize(workload: Workload, rounds: list[dict[str, dict]]) -> dict:
    """rounds: [{impl: result line}] in run order. Returns medians and per-round ratios."""
    keys = [m.key for m in workload.metrics] + (["peak_rss_kb"] if workload.rss else [])
    impls = [i.name for i in workload.impls]
    summary = {"metrics": {}}
    for key in keys:
        values = {
            impl: [r[impl][key] for r in rounds if impl in r and key in r[impl]] for impl in impls
        }
        med = {impl: median(v) for impl, v in values.items() if v}
        ratios = {}
        for base in impls[1:]:
            rs = [
                r["executor"][key] / r[base][key]
                for r in rounds
                if "executor" in r and base in r and key in r["executor"] and key in r[base]
                and r[base][key] > 0
            ]
            if rs:
                ratios[base] = {"median": median(rs), "min": min(rs), "max": max(rs), "n": len(rs)}
        summary["metrics"][key] = {"values": values, "median": med, "ratios": ratios}
    return summary


def fmt_value(v: float | None, metric: Metric) -> str:
    if v is None or v != v:
        return "—"
    x = v * metric.scale
    if abs(x) >= 100:
        s = f"{x:.0f}"
    elif abs(x) >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    return f"{s} {metric.unit}"


def fmt_ratio(r: dict | None) -> str:
    if not r:
        return "—"
    def f(x: float) -> str:
        return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"

    return f"{f(r['median'])}× ({f(r['min'])}–{f(r['max'])})"


def fmt_rss(kb: float | None) -> str:
    if kb is None or kb != kb:
        return "—"
    return f"{kb / 1024:.0f} MiB"


def target_cells(workload: Workload, key: str, stats: dict) -> str:
    cells = []
    view = {
        "median": stats["median"],
        "ratio": {b: r["median"] for b, r in stats["ratios"].items()},
    }
    for t in workload.targets.get(key, []):
        ok = t.check(view) if stats["median"] else None
        mark = "?" if ok is None else ("✓" if ok else "✗")
        cells.append(f"{mark} {t.text}")
    return "; ".join(cells) if cells else ""


def markdown_table(results: dict, workloads: list[Workload]) -> str:
    baselines = [b for b in ("asio", "uring")]
    head = ["workload", "figure", "executor"]
    for b in baselines:
        head += [BASELINE_TITLES[b], f"executor ÷ {BASELINE_TITLES[b]}"]
    head += ["peak RSS (executor / Asio)", "targets"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in workloads:
        res = results.get(w.name)
        if res is None:
            continue
        if res.get("skipped"):
            rows.append(
                f"| {w.name} | {res['skipped']} |" + " |" * (len(head) - 2)
            )
            continue
        summary = res["summary"]["metrics"]
        rss = summary.get("peak_rss_kb")
        for i, m in enumerate(w.metrics):
            s = summary[m.key]
            arrow = "↑" if m.higher_is_better else "↓"
            cells = [w.name if i == 0 else "", f"{m.label} {arrow}", fmt_value(s["median"].get("executor"), m)]
            for b in baselines:
                if b in s["median"] or b in [x.name for x in w.impls]:
                    cells += [fmt_value(s["median"].get(b), m), fmt_ratio(s["ratios"].get(b))]
                else:
                    cells += ["", ""]
            if rss and i == 0:
                cells.append(
                    f"{fmt_rss(rss['median'].get('executor'))} / {fmt_rss(rss['median'].get('asio'))}"
                )
            else:
                cells.append("")
            tc = target_cells(w, m.key, s)
            if rss and i == len(w.metrics) - 1 and "peak_rss_kb" in w.targets:
                extra = target_cells(w, "peak_rss_kb", rss)
                tc = f"{tc}; RSS {extra}" if tc else f"RSS {extra}"
            cells.append(tc)
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def svg_chart(results: dict, workloads: list[Workload]) -> str:
    """Horizontal bars: executor's advantage over each baseline (>1: executor better), with the
    min-max of the rounds as whiskers, on a log scale."""
    import math

    bars = []
    for w in workloads:
        res = results.get(w.name)
        if not res or res.get("skipped"):
            continue
        for m in w.metrics:
            for b, r in res["summary"]["metrics"][m.key]["ratios"].items():
                if m.higher_is_better:
                    med, lo, hi = r["median"], r["min"], r["max"]
                else:
                    med, lo, hi = 1 / r["median"], 1 / r["max"], 1 / r["min"]
                bars.append((f"{w.name}: {m.label} vs {BASELINE_TITLES[b]}", med, lo, hi))
    if not bars:
        return "<svg xmlns='http://www.w3.org/2000/svg' width='400' height='40'><text x='10' y='25'>no ratios</text></svg>"
    lo_all = min(min(b[2] for b in bars), 0.5)
    hi_all = max(max(b[3] for b in bars), 2.0)
    lmin, lmax = math.log10(lo_all) - 0.05, math.log10(hi_all) + 0.05
    label_w, plot_w, row_h, top = 380, 460, 22, 40
    width = label_w + plot_w + 90
    height = top + row_h * len(bars) + 40

    def x(v: float) -> float:
        return label_w + (math.log10(v) - lmin) / (lmax - lmin) * plot_w

    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        "font-family='sans-serif' font-size='12'>",
        f"<text x='10' y='20' font-size='14'>executor's advantage over each baseline "
        "(median of the rounds; whiskers: min–max; &gt;1 = executor better; log scale)</text>",
    ]
    for tick in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100):
        if lo_all * 0.9 <= tick <= hi_all * 1.1:
            tx = x(tick)
            color = "#000" if tick == 1 else "#ccc"
            out.append(
                f"<line x1='{tx:.1f}' y1='{top - 5}' x2='{tx:.1f}' y2='{height - 30}' stroke='{color}'/>"
            )
            out.append(f"<text x='{tx:.1f}' y='{height - 15}' text-anchor='middle'>{tick:g}×</text>")
    for i, (label, med, lo, hi) in enumerate(bars):
        y = top + i * row_h
        color = "#3a7" if med >= 1 else "#c54"
        x0, x1 = sorted((x(1), x(med)))
        out.append(f"<text x='{label_w - 8}' y='{y + 15}' text-anchor='end'>{label}</text>")
        out.append(
            f"<rect x='{x0:.1f}' y='{y + 4}' width='{max(x1 - x0, 1):.1f}' height='{row_h - 8}' fill='{color}'/>"
        )
        out.append(
            f"<line x1='{x(lo):.1f}' y1='{y + row_h / 2}' x2='{x(hi):.1f}' y2='{y + row_h / 2}' stroke='#000'/>"
        )
        out.append(f"<text x='{x(max(hi, med)) + 6:.1f}' y='{y + 15}'>{med:.2f}×</text>")
    out.append("</svg>")
    return "\n".join(out)


def machine_info() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "host": platform.node(),
        "kernel": platform.release(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg()[0],
    }


# --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default="build/release", type=Path)
    ap.add_argument("--quick", action="store_true",
                    help="one timed iteration per process, a tenth of the I/O workloads' "
                    "operations, 1 s echo runs (under 2 minutes)")
    ap.add_argument("--pairs", type=int, default=5,
                    help="rounds of alternating runs per workload (at least 5)")
    ap.add_argument("--only", default="",
                    help="comma-separated workloads to run (default: all)")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="where to write results.json, results.md, ratios.svg "
                    "(default: <build-dir>/bench-results)")
    ap.add_argument("--list", action="store_true", help="list the workloads and exit")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    if args.list:
        for w in WORKLOADS:
            print(f"{w.name:20} {w.description}")
        return 0
    if args.pairs < 5:
        print("bench_report: --pairs must be at least 5 (shared/BENCHMARKS.md)", file=sys.stderr)
        return 2
    selected = [w for w in WORKLOADS if not args.only or w.name in args.only.split(",")]
    unknown = set(filter(None, args.only.split(","))) - {w.name for w in WORKLOADS}
    if unknown:
        print(f"bench_report: unknown workload(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2

    bench_dir = args.build_dir / "bench"
    out_dir = args.out_dir or (args.build_dir / "bench-results")
    out_dir.mkdir(parents=True, exist_ok=True)
    runner = Runner(bench_dir, args.quick, args.verbose)
    info = machine_info()
    command = "./tools/dev bench" + (" " + " ".join(sys.argv[1:]) if len(sys.argv) > 1 else "")
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()

    results: dict = {}
    for w in selected:
        impls = [i for i in w.impls if runner.available(i)]
        missing = [i.name for i in w.impls if i not in impls]
        if not impls or impls[0].name != "executor":
            results[w.name] = {"skipped": "not built yet (" + w.impls[0].argv[0] + ")"}
            print(f"-- {w.name}: skipped (executor's binary is not built)", file=sys.stderr)
            continue
        if missing:
            print(f"-- {w.name}: no {', '.join(missing)} baseline built", file=sys.stderr)
        rounds: list[dict] = []
        errors: list[str] = []
        for k in range(args.pairs):
            this_round: dict = {}
            for impl in impls:
                try:
                    this_round[impl.name] = runner.run(w, impl)
                except RunError as e:
                    errors.append(str(e))
                    print(f"!! {w.name}/{impl.name}: {e}", file=sys.stderr)
            rounds.append(this_round)
            short = ", ".join(
                f"{n}={r.get(w.metrics[0].key, float('nan')) * w.metrics[0].scale:.3g}"
                for n, r in this_round.items()
            )
            print(f"-- {w.name} round {k + 1}/{args.pairs}: {short}", file=sys.stderr)
        results[w.name] = {
            "rounds": rounds,
            "errors": errors,
            "summary": summarize(w, rounds),
            "baselines_missing": missing,
        }

    elapsed = time.monotonic() - t0
    info["loadavg_end"] = os.getloadavg()[0]
    table = markdown_table(results, selected)
    header = (
        f"executor benchmarks, {started:%Y-%m-%d %H:%M} UTC, {info['cpus']} × {info['cpu']}, "
        f"Linux {info['kernel']}, load average {info['loadavg_start']:.1f} → "
        f"{info['loadavg_end']:.1f}; {args.pairs} alternating rounds"
        f"{' (quick)' if args.quick else ''}; {elapsed:.0f} s.\n"
        f"Command: `{command}`. Ratio = executor ÷ baseline: median of the per-round ratios "
        "(min–max); ↑ higher is better, ↓ lower is better.\n"
    )
    print()
    print(header)
    print(table)

    (out_dir / "results.md").write_text(header + "\n" + table + "\n")
    (out_dir / "results.json").write_text(
        json.dumps(
            {
                "started": started.isoformat(),
                "seconds": elapsed,
                "command": command,
                "pairs": args.pairs,
                "quick": args.quick,
                "machine": info,
                "workloads": results,
            },
            indent=1,
        )
    )
    (out_dir / "ratios.svg").write_text(svg_chart(results, selected))
    print(f"\nraw results: {out_dir / 'results.json'}; table: {out_dir / 'results.md'}; "
          f"chart: {out_dir / 'ratios.svg'}", file=sys.stderr)
    failed = any(r.get("errors") for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
