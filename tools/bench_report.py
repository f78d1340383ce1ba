#!/usr/bin/env python3
"""The benchmark driver behind `./tools/dev bench` (see docs/performance.md).

Runs every workload of shared/BENCHMARKS.md for executor and its baselines, alternating
(executor, baseline, executor, baseline, ...), at least 5 rounds, under one or more conditions
(quiet, hog, quota, crowded; see CONDITIONS below), and prints Markdown tables: on the quiet
machine, executor's median, each baseline's median and the ratio executor/baseline as the median
of the per-round ratios with their min-max; under the other conditions, each implementation's
median and its ratio to its own quiet figure. Raw results go to
<build-dir>/bench-results/results.json, the tables to results.md and a chart of the quiet ratios
to ratios.svg.

Every benchmark process prints machine-readable lines such as
    impl=executor workload=spawn_join n=1000000 iterations=3 seconds=0.41 ops_per_s=2.4e6 ...
and the driver parses those lines only.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent

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
class View:
    """What a target is checked against: one workload under one condition."""

    median: dict[str, float]  # impl -> median over the rounds
    ratio: dict[str, float]  # baseline -> median of the per-round executor/baseline ratios
    vs_quiet: dict[str, float]  # impl -> median of the per-round condition/quiet ratios
    # (workload, metric key) -> executor's median of another workload under the same condition
    lookup: Callable[[str, str], float | None]


@dataclasses.dataclass
class Target:
    """A target from an issue. check() is None when the figures it needs were not measured."""

    text: str
    check: Callable[[View], bool | None]


@dataclasses.dataclass
class Impl:
    name: str  # executor, asio, uring
    argv: list[str]  # relative to the build dir's bench/ folder; first item is the binary
    # gbench (harness binary) | program | echo (server + load generator) | idle (server + client)
    kind: str = "gbench"


@dataclasses.dataclass
class Workload:
    name: str
    description: str
    metrics: list[Metric]
    impls: list[Impl]
    targets: dict[str, list[Target]]  # on the quiet machine, by metric key
    # by condition, then metric key
    condition_targets: dict[str, dict[str, list[Target]]] = dataclasses.field(default_factory=dict)
    rss: bool = False  # report peak RSS
    connections: int = 0  # echo and idle workloads
    # echo workloads: the load generator's unmeasured warm-up, long enough for every connection
    # to have gone round several times before the measurement starts
    warmup_s: float = 0.5
    # echo workloads, --quick: the measured seconds (10,000 connections go round in waves of
    # about a second, which one second cannot measure)
    quick_seconds: float = 1.0
    conditions: tuple[str, ...] = ("quiet", "hog", "quota", "crowded")  # where it runs
    condition_metrics: tuple[str, ...] = ()  # rows of the conditions table (default: the first)

    def metric(self, key: str) -> Metric:
        return next(m for m in self.metrics if m.key == key)


def rate(label: str, unit: str = "M/s") -> Metric:
    return Metric("ops_per_s", label, unit, True, 1e-6)


def at_least(v: float, text: str) -> Target:
    return Target(text, lambda r: None if "executor" not in r.median else r.median["executor"] >= v)


def at_most(v: float, text: str) -> Target:
    return Target(text, lambda r: None if "executor" not in r.median else r.median["executor"] <= v)


def ratio_at_least(impl: str, v: float, text: str) -> Target:
    return Target(text, lambda r: None if impl not in r.ratio else r.ratio[impl] >= v)


def ratio_at_most(impl: str, v: float, text: str) -> Target:
    return Target(text, lambda r: None if impl not in r.ratio else r.ratio[impl] <= v)


def vs_quiet_at_least(v: float) -> Target:
    return Target(
        f"≥ {v:g}× quiet",
        lambda r: None if "executor" not in r.vs_quiet else r.vs_quiet["executor"] >= v,
    )


def vs_quiet_at_most(v: float) -> Target:
    return Target(
        f"≤ {v:g}× quiet",
        lambda r: None if "executor" not in r.vs_quiet else r.vs_quiet["executor"] <= v,
    )


def of_workload_at_least(other: str, key: str, v: float, text: str) -> Target:
    """executor's median at least v times executor's median of `other` (same condition)."""

    def check(r: View) -> bool | None:
        base = r.lookup(other, key)
        if base is None or "executor" not in r.median:
            return None
        return r.median["executor"] >= v * base

    return Target(text, check)


AHEAD_OF_ASIO_RATE = ratio_at_least("asio", 1.0, "ahead of Asio")
AHEAD_OF_ASIO_TIME = ratio_at_most("asio", 1.0, "ahead of Asio")


def merge(*parts: dict[str, dict[str, list[Target]]]) -> dict[str, dict[str, list[Target]]]:
    out: dict[str, dict[str, list[Target]]] = {}
    for part in parts:
        for cond, by_key in part.items():
            for key, targets in by_key.items():
                out.setdefault(cond, {}).setdefault(key, []).extend(targets)
    return out


def holds_under_quota_and_crowding(metric: Metric) -> dict[str, dict[str, list[Target]]]:
    """Issue 17: under `quota` and `crowded` no workload falls below 0.5x its quiet rate (for a
    figure where lower is better, a wall time: at most 2x its quiet figure)."""
    target = vs_quiet_at_least(0.5) if metric.higher_is_better else vs_quiet_at_most(2.0)
    return {"quota": {metric.key: [target]}, "crowded": {metric.key: [target]}}


def loop_condition_targets(metric: Metric) -> dict[str, dict[str, list[Target]]]:
    """Issue 17, the loop workloads: under `hog` at least 0.35x the quiet rate (the fair share is
    0.5x) and at least 3x Asio under the same hog."""
    hog = {"hog": {metric.key: [vs_quiet_at_least(0.35), ratio_at_least("asio", 3.0, "≥ 3× Asio")]}}
    return merge(hog, holds_under_quota_and_crowding(metric))


def gb(binary: str, workload: str) -> list[str]:
    return [binary, f"--benchmark_filter=^{workload}/", "--benchmark_color=false"]


def loop_workload(name: str, description: str, metric: Metric, binary: str, target: Target,
                  rss: bool = False) -> Workload:
    return Workload(
        name,
        description,
        [metric],
        [Impl("executor", gb(binary, name)), Impl("asio", gb("baseline_asio_bench", name))],
        {metric.key: [target, AHEAD_OF_ASIO_RATE]},
        loop_condition_targets(metric),
        rss=rss,
    )


MSGS = Metric("msgs_per_s", "messages/s", "k/s", True, 1e-3)
P50 = Metric("p50_us", "p50 latency", "µs", False)
P99 = Metric("p99_us", "p99 latency", "µs", False)
CPU_PER_MSG = Metric("cpu_us_per_msg", "server CPU per message", "µs", False)
ECHO_IMPLS = [
    Impl("executor", ["echo_server_executor"], "echo"),
    Impl("asio", ["baseline_asio_echo_server"], "echo"),
    Impl("uring", ["baseline_uring_echo_server"], "echo"),
]


def echo_workload(name: str, connections: int, warmup_s: float, quick_seconds: float,
                  targets: dict[str, list[Target]],
                  condition_targets: dict[str, dict[str, list[Target]]]) -> Workload:
    return Workload(
        name,
        "echo server on 127.0.0.1; the load generator keeps "
        f"{connections:,} connections with one 64-byte message each in flight for 5 s "
        f"after a {warmup_s:g} s warm-up",
        [MSGS, P50, P99, CPU_PER_MSG],
        ECHO_IMPLS,
        targets,
        merge(condition_targets, holds_under_quota_and_crowding(MSGS)),
        connections=connections,
        warmup_s=warmup_s,
        quick_seconds=quick_seconds,
        condition_metrics=("msgs_per_s", "p99_us", "cpu_us_per_msg"),
    )


def at_scale_targets() -> dict[str, list[Target]]:
    """Issue 17: 1,000 and 10,000 connections keep at least 0.9x the 50-connection rate."""
    return {"msgs_per_s": [of_workload_at_least("tcp_echo", "msgs_per_s", 0.9,
                                                "≥ 0.9× tcp_echo (50 connections)")]}


TIMERS_WALL = Metric("seconds", "wall time", "ms", False, 1e3)
TIMERS_OVERSHOOT = Metric("overshoot_mean_ms", "mean overshoot", "ms", False)

WORKLOADS: list[Workload] = [
    loop_workload("spawn_join",
                  "one task spawns 1,000,000 trivial tasks, then awaits every handle",
                  rate("tasks/s"), "core_spawn_join_bench", at_least(3.2e6, "≥ 3.2 M/s"),
                  rss=True),
    loop_workload("spawn_join_batched",
                  "the same in batches of 1,000 (spawn 1,000, await them, repeat)",
                  rate("tasks/s"), "core_spawn_join_bench", at_least(3.2e6, "≥ 3.2 M/s"),
                  rss=True),
    loop_workload("ping_pong",
                  "two tasks pass a value back and forth over a pair of channels 1,000,000 times",
                  rate("round trips/s"), "sync_ping_pong_bench", at_least(3e6, "≥ 3 M/s")),
    loop_workload("yield", "1,000 tasks each yield 1,000 times", rate("yields/s"),
                  "core_yield_bench", at_least(17e6, "≥ 17 M/s")),
    loop_workload("mutex",
                  "8 tasks each lock an async mutex and increment a shared counter 100,000 times",
                  rate("lock ops/s"), "sync_mutex_bench", at_least(12e6, "≥ 12 M/s")),
    Workload(
        "timers",
        "100,000 tasks each sleep 10 ms at once",
        [TIMERS_WALL, TIMERS_OVERSHOOT],
        [
            Impl("executor", ["timers_executor"], "program"),
            Impl("asio", ["baseline_asio_timers"], "program"),
        ],
        {
            "seconds": [at_most(0.150, "≤ 150 ms"), AHEAD_OF_ASIO_TIME],
            "overshoot_mean_ms": [at_most(0.5, "≤ 0.5 ms"), AHEAD_OF_ASIO_TIME],
            "peak_rss_kb": [at_most(64 * 1024, "≤ 64 MiB")],
        },
        merge({"hog": {"overshoot_mean_ms": [at_most(5.0, "< 5 ms")]}},
              holds_under_quota_and_crowding(TIMERS_WALL)),
        rss=True,
        condition_metrics=("seconds", "overshoot_mean_ms"),
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
        holds_under_quota_and_crowding(rate("NOPs/s")),
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
        holds_under_quota_and_crowding(rate("reads/s")),
    ),
    echo_workload(
        "tcp_echo",
        50,
        0.5,
        1.0,
        {
            "msgs_per_s": [ratio_at_least("uring", 0.95, "≥ 0.95× raw"), AHEAD_OF_ASIO_RATE],
            "p99_us": [ratio_at_most("uring", 1.2, "≤ 1.2× raw"), AHEAD_OF_ASIO_TIME],
            "cpu_us_per_msg": [ratio_at_most("uring", 1.1, "≤ 1.1× raw"), AHEAD_OF_ASIO_TIME],
        },
        {
            "hog": {
                "msgs_per_s": [ratio_at_least("uring", 0.9, "≥ 0.9× raw")],
                "p99_us": [ratio_at_most("uring", 1.2, "≤ 1.2× raw")],
                "cpu_us_per_msg": [vs_quiet_at_most(1.2)],
            }
        },
    ),
    echo_workload("tcp_echo_1k", 1_000, 1.0, 1.0, at_scale_targets(), {}),
    echo_workload("tcp_echo_10k", 10_000, 2.0, 3.0, at_scale_targets(), {}),
    Workload(
        "idle_connections",
        "10,000 connections held open against executor's echo server, each with a task waiting "
        "in recv (64-byte buffer) or in an io::Receiver (1 buffer of 64 bytes): the server's RSS "
        "growth per connection",
        [
            Metric("recv_bytes_per_conn", "RSS per connection, recv", "KiB", False, 1 / 1024),
            Metric("receiver_bytes_per_conn", "RSS per connection, io::Receiver", "KiB", False,
                   1 / 1024),
        ],
        [Impl("executor", ["echo_server_executor"], "idle")],
        {
            "recv_bytes_per_conn": [at_most(4096, "≤ 4 KiB")],
            "receiver_bytes_per_conn": [at_most(4096, "≤ 4 KiB")],
        },
        connections=10_000,
        conditions=("quiet",),  # a memory figure: the other conditions do not change it
    ),
]

BASELINE_TITLES = {"asio": "Boost.Asio", "uring": "raw liburing"}
IMPL_TITLES = {"executor": "executor", **BASELINE_TITLES}

# --------------------------------------------------------------------------------------------
# Conditions: how the processes under test share the machine


class Condition:
    """The quiet machine: nothing else runs on purpose. Subclasses change the environment of
    the process under test (the benchmark binary, or the server of the echo and idle workloads;
    never the load generator) or run something beside each executor/baseline pair."""

    name = "quiet"

    def describe(self) -> str:
        return "nothing else started by the driver"

    def env(self) -> dict[str, str]:
        # Every implementation runs bench::workers() threads: 2 unless EXECUTOR_WORKERS says
        # otherwise, which only `crowded` does.
        env = dict(os.environ)
        env.pop("EXECUTOR_WORKERS", None)
        return env

    def preexec(self) -> Callable[[], None] | None:
        """Runs in the child between fork and exec (the driver has no other thread)."""
        return None

    @contextlib.contextmanager
    def pair(self) -> Iterator[list[str]]:
        """Wraps one round of executor and its baselines; yields a list to which it appends a
        line for each thing that went wrong with the condition itself (the round is dropped)."""
        yield []

    def counters(self) -> dict[str, float]:
        """Cumulative counters of the condition (e.g. throttling), read before and after a run."""
        return {}

    def close(self) -> None:
        pass


class Hog(Condition):
    """One busy loop per CPU (bench/programs/cpu_hog) at the driver's priority, started before
    each pair and killed after it. Each hog exits by itself after HOG_SECONDS and dies with the
    driver (PR_SET_PDEATHSIG), so none outlives the run."""

    name = "hog"
    HOG_SECONDS = 900  # longer than any pair; a pair that outlasts it is dropped

    def __init__(self, binary: Path, cpus: int):
        self.binary = binary
        self.cpus = cpus

    def describe(self) -> str:
        return f"{self.cpus} × cpu_hog (one busy loop per CPU, same priority) beside each pair"

    @contextlib.contextmanager
    def pair(self) -> Iterator[list[str]]:
        problems: list[str] = []
        hogs = [
            subprocess.Popen([str(self.binary), f"--seconds={self.HOG_SECONDS}"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            for _ in range(self.cpus)
        ]
        try:
            yield problems
        finally:
            early = [h for h in hogs if h.poll() is not None]
            if early:
                problems.append(f"{len(early)} cpu_hog(s) exited before the pair ended "
                                f"(exit code {early[0].returncode})")
            for h in hogs:
                h.kill()
                h.wait()


class CpuQuotaCgroup:
    """A child cgroup made for this run whose processes together get `cpus` CPUs of time per
    period (the CFS bandwidth quota), removed when the run ends. Prefers the cgroup v1 cpu
    controller where it is mounted, else cgroup v2's cpu.max at the root of the v2 hierarchy."""

    PERIOD_US = 100_000

    def __init__(self, path: Path, version: int, cpus: int):
        self.path = path
        self.version = version
        self.cpus = cpus

    @classmethod
    def create(cls, cpus: int) -> CpuQuotaCgroup:
        """Raises OSError (or RuntimeError) saying why it cannot."""
        name = f"executor-bench-{os.getpid()}"
        quota_us = cpus * cls.PERIOD_US
        mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
        for _dev, mount, fstype, options, *_ in mounts:
            if fstype == "cgroup" and "cpu" in options.split(","):
                parent = Path(mount) / own_cgroup_path("cpu").lstrip("/")
                if not parent.is_dir():  # a container that sees its own group as the root
                    parent = Path(mount)
                group = cls(parent / name, 1, cpus)
                group.make({"cpu.cfs_period_us": str(cls.PERIOD_US),
                            "cpu.cfs_quota_us": str(quota_us)})
                return group
        for _dev, mount, fstype, _options, *_ in mounts:
            if fstype == "cgroup2":
                root = Path(mount)
                if "cpu" not in (root / "cgroup.controllers").read_text().split():
                    raise RuntimeError(f"the cgroup v2 hierarchy at {root} has no cpu controller")
                if "cpu" not in (root / "cgroup.subtree_control").read_text().split():
                    (root / "cgroup.subtree_control").write_text("+cpu")
                group = cls(root / name, 2, cpus)
                group.make({"cpu.max": f"{quota_us} {cls.PERIOD_US}"})
                return group
        raise RuntimeError("no cgroup cpu controller is mounted")

    def make(self, settings: dict[str, str]) -> None:
        self.path.mkdir()
        try:
            for file, value in settings.items():
                (self.path / file).write_text(value)
        except OSError:
            self.path.rmdir()
            raise

    def describe(self) -> str:
        if self.version == 1:
            setting = f"cpu.cfs_quota_us={self.cpus * self.PERIOD_US} cpu.cfs_period_us={self.PERIOD_US}"
        else:
            setting = f"cpu.max={self.cpus * self.PERIOD_US} {self.PERIOD_US}"
        return f"cgroup v{self.version} {self.path} with {setting}"

    def join(self) -> None:
        """Moves the calling process into the group (a preexec_fn: runs in the child)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def throttling(self) -> dict[str, float]:
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        throttled_s = (int(stat.get("throttled_time", 0)) / 1e9 if self.version == 1
                       else int(stat.get("throttled_usec", 0)) / 1e6)
        return {"throttled_periods": int(stat.get("nr_throttled", 0)), "throttled_s": throttled_s}

    def remove(self) -> None:
        # The last process has been waited for, but the kernel may take a moment to let go.
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)
        print(f"!! could not remove the cgroup {self.path}", file=sys.stderr)


def own_cgroup_path(controller: str) -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _id, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return "/"


class Quota(Condition):
    """The process under test in a cgroup limited to 1 CPU (with its usual 2 workers)."""

    name = "quota"

    def __init__(self, group: CpuQuotaCgroup):
        self.group = group

    def describe(self) -> str:
        return f"the process under test limited to {self.group.cpus} CPU ({self.group.describe()})"

    def preexec(self) -> Callable[[], None] | None:
        return self.group.join

    def counters(self) -> dict[str, float]:
        return self.group.throttling()

    def close(self) -> None:
        self.group.remove()


class Crowded(Condition):
    """Twice as many workers as CPUs (EXECUTOR_WORKERS, read by bench::workers() in every
    executor and Asio program; the raw liburing baselines are single-threaded)."""

    name = "crowded"

    def __init__(self, cpus: int):
        self.workers = 2 * cpus

    def describe(self) -> str:
        return f"EXECUTOR_WORKERS={self.workers}: {self.workers} executor workers / Asio threads"

    def env(self) -> dict[str, str]:
        return {**super().env(), "EXECUTOR_WORKERS": str(self.workers)}


CONDITIONS = ("quiet", "hog", "quota", "crowded")


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0))


def make_condition(name: str, bench_dir: Path) -> Condition | str:
    """The condition, or why it cannot run on this machine."""
    if name == "quiet":
        return Condition()
    if name == "hog":
        binary = bench_dir / "cpu_hog"
        if not binary.is_file():
            return f"{binary} is not built"
        return Hog(binary, usable_cpus())
    if name == "quota":
        try:
            return Quota(CpuQuotaCgroup.create(cpus=1))
        except (OSError, RuntimeError) as e:
            return f"no writable cgroup CPU quota ({e})"
    if name == "crowded":
        return Crowded(usable_cpus())
    raise ValueError(name)


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


def run_process(argv: list[str], timeout: float, condition: Condition | None = None) -> str:
    """Runs argv (under `condition` if given) and returns its stdout. Raises RunError."""
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=condition.env() if condition else None,
        preexec_fn=condition.preexec() if condition else None,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RunError(f"{' '.join(argv)}: timed out after {timeout:.0f} s")
    except BaseException:  # Ctrl-C or SIGTERM: the run must not outlive the driver
        proc.kill()
        proc.wait()
        raise
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
# idle_connections: the server's per-connection buffers are kept small so that the figure is the
# runtime's own cost per connection (task frame, stream, pending receive), not the application's.
IDLE_VARIANTS = {
    "recv": ["--buffer_size=64"],
    "receiver": ["--receiver", "--receiver_buffers=1", "--buffer_size=64"],
}


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
        if impl.kind == "idle":
            return (self.bench_dir / "idle_connections").is_file()
        return True

    def run(self, workload: Workload, impl: Impl, condition: Condition) -> dict:
        argv = [str(self.bench_dir / impl.argv[0])] + impl.argv[1:]
        if self.verbose:
            print(f"   [{condition.name}] {shlex.join(argv)}", file=sys.stderr)
        before = condition.counters()
        if impl.kind == "echo":
            result = self.run_echo(workload, impl, argv, condition)
        elif impl.kind == "idle":
            result = self.run_idle(workload, impl, argv, condition)
        else:
            result = self.run_binary(workload, impl, argv, condition)
        after = condition.counters()
        result.update({k: after[k] - before[k] for k in after})
        return result

    def run_binary(self, workload: Workload, impl: Impl, argv: list[str],
                   condition: Condition) -> dict:
        if self.quick:
            # One timed iteration; the I/O workloads (the only ones that honour it) also run a
            # tenth of their operations per iteration, the same for every implementation.
            argv.append("--iterations=1")
            if impl.kind == "gbench":
                argv.append(f"--ops_fraction={QUICK_OPS_FRACTION}")
        out = run_process(argv, timeout=600, condition=condition)
        lines = [l for l in parse_lines(out) if l.get("workload") == workload.name]
        if not lines:
            raise RunError(f"{' '.join(argv)}: printed no result line for {workload.name}")
        return lines[-1]

    @contextlib.contextmanager
    def server(self, argv: list[str], condition: Condition) -> Iterator[tuple[subprocess.Popen, int]]:
        """A server under test on a free loopback port, under `condition`; SIGTERM at the end."""
        port = free_port()
        proc = subprocess.Popen(
            argv + [f"--port={port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=condition.env(),
            preexec_fn=condition.preexec(),
        )
        try:
            wait_for_port(port, proc)
            yield proc, port
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()

    def run_echo(self, workload: Workload, impl: Impl, argv: list[str],
                 condition: Condition) -> dict:
        seconds = workload.quick_seconds if self.quick else ECHO_SECONDS
        with self.server(argv, condition) as (server, port):
            # The server's CPU time from here on includes its accepts of the connections.
            cpu_before = proc_cpu_seconds(server.pid)
            out = run_process(
                [
                    str(self.bench_dir / "loadgen"),
                    "--host=127.0.0.1",
                    f"--port={port}",
                    f"--connections={workload.connections}",
                    "--size=64",
                    f"--seconds={seconds}",
                    f"--warmup={workload.warmup_s}",
                ],
                timeout=workload.warmup_s + seconds + 120,
            )
            cpu_after = proc_cpu_seconds(server.pid)
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

    def run_idle(self, workload: Workload, impl: Impl, argv: list[str],
                 condition: Condition) -> dict:
        r: dict = {"impl": impl.name, "workload": workload.name}
        for variant, flags in IDLE_VARIANTS.items():
            with self.server(argv + flags, condition) as (server, port):
                out = run_process(
                    [
                        str(self.bench_dir / "idle_connections"),
                        f"--port={port}",
                        f"--server_pid={server.pid}",
                        f"--connections={workload.connections}",
                    ],
                    timeout=120,
                )
            lines = parse_lines(out)
            if not lines:
                raise RunError("idle_connections printed no result line")
            for key in ("bytes_per_conn", "rss_before_kb", "rss_after_kb"):
                r[f"{variant}_{key}"] = lines[-1][key]
        return r


# --------------------------------------------------------------------------------------------
# Statistics


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def spread(xs: list[float]) -> dict | None:
    if not xs:
        return None
    return {"median": median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def per_round_ratios(rounds_a: list[dict], rounds_b: list[dict], impl_a: str, impl_b: str,
                     key: str) -> list[float]:
    """a/b for every round index where both runs have the figure (and b's is positive)."""
    out = []
    for ra, rb in zip(rounds_a, rounds_b):
        a = ra.get(impl_a, {}).get(key)
        b = rb.get(impl_b, {}).get(key)
        if a is not None and b is not None and b > 0:
            out.append(a / b)
    return out


def summarize(workload: Workload, rounds: list[dict[str, dict]],
              quiet_rounds: list[dict[str, dict]] | None) -> dict:
    """rounds: [{impl: result line}] in run order, under one condition; quiet_rounds: the quiet
    rounds interleaved with them (None for quiet itself). Per metric: each implementation's
    values and median, the per-round ratios executor/baseline, and each implementation's
    per-round ratio to its own quiet run of the same round."""
    keys = [m.key for m in workload.metrics] + (["peak_rss_kb"] if workload.rss else [])
    impls = [i.name for i in workload.impls]
    summary: dict = {"metrics": {}}
    for key in keys:
        values = {impl: [r[impl][key] for r in rounds if key in r.get(impl, {})] for impl in impls}
        ratios = {}
        for base in impls[1:]:
            s = spread(per_round_ratios(rounds, rounds, "executor", base, key))
            if s:
                ratios[base] = s
        vs_quiet = {}
        if quiet_rounds is not None:
            for impl in impls:
                s = spread(per_round_ratios(rounds, quiet_rounds, impl, impl, key))
                if s:
                    vs_quiet[impl] = s
        summary["metrics"][key] = {
            "values": values,
            "median": {impl: median(v) for impl, v in values.items() if v},
            "ratios": ratios,
            "vs_quiet": vs_quiet,
        }
    return summary


def view(results: dict, workload: Workload, condition: str, key: str) -> View:
    stats = results[workload.name]["conditions"][condition]["summary"]["metrics"][key]

    def lookup(other: str, other_key: str) -> float | None:
        try:
            runs = results[other]["conditions"][condition]
            return runs["summary"]["metrics"][other_key]["median"]["executor"]
        except KeyError:
            return None

    return View(
        median=stats["median"],
        ratio={b: r["median"] for b, r in stats["ratios"].items()},
        vs_quiet={i: r["median"] for i, r in stats["vs_quiet"].items()},
        lookup=lookup,
    )


def check_targets(targets: list[Target], v: View) -> list[tuple[str, bool | None]]:
    return [(t.text, t.check(v)) for t in targets]


def target_cells(checked: list[tuple[str, bool | None]]) -> str:
    marks = {None: "?", True: "✓", False: "✗"}
    return "; ".join(f"{marks[ok]} {text}" for text, ok in checked)


# --------------------------------------------------------------------------------------------
# Output


def fmt_value(v: float | None, metric: Metric) -> str:
    if v is None or v != v:
        return "—"
    x = v * metric.scale
    unit = metric.unit
    if unit == "µs" and abs(x) >= 10_000:  # the latencies of 10,000 connections
        x, unit = x / 1000, "ms"
    if abs(x) >= 100:
        s = f"{x:.0f}"
    elif abs(x) >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    return f"{s} {unit}"


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


def table_lines(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def quiet_table(results: dict, workloads: list[Workload]) -> str:
    """The quiet machine: executor, each baseline, executor ÷ baseline, RSS, the targets."""
    baselines = list(BASELINE_TITLES)
    head = ["workload", "figure", "executor"]
    for b in baselines:
        head += [BASELINE_TITLES[b], f"executor ÷ {BASELINE_TITLES[b]}"]
    head += ["peak RSS (executor / Asio)", "targets"]
    rows = []
    for w in workloads:
        res = results.get(w.name)
        if res is None:
            continue
        if res.get("skipped"):
            rows.append([w.name, res["skipped"]] + [""] * (len(head) - 2))
            continue
        summary = res["conditions"]["quiet"]["summary"]["metrics"]
        rss = summary.get("peak_rss_kb")
        impl_names = [i.name for i in w.impls]
        for i, m in enumerate(w.metrics):
            s = summary[m.key]
            arrow = "↑" if m.higher_is_better else "↓"
            cells = [w.name if i == 0 else "", f"{m.label} {arrow}",
                     fmt_value(s["median"].get("executor"), m)]
            for b in baselines:
                if b in impl_names:
                    cells += [fmt_value(s["median"].get(b), m), fmt_ratio(s["ratios"].get(b))]
                else:
                    cells += ["", ""]
            if rss and i == 0:
                cells.append(f"{fmt_rss(rss['median'].get('executor'))} / "
                             f"{fmt_rss(rss['median'].get('asio'))}")
            else:
                cells.append("")
            checked = check_targets(w.targets.get(m.key, []), view(results, w, "quiet", m.key))
            tc = target_cells(checked)
            if rss and i == len(w.metrics) - 1 and "peak_rss_kb" in w.targets:
                rss_checked = check_targets(w.targets["peak_rss_kb"],
                                            view(results, w, "quiet", "peak_rss_kb"))
                tc = "; ".join(filter(None, [tc, "RSS " + target_cells(rss_checked)]))
            cells.append(tc)
            rows.append(cells)
    return table_lines(head, rows)


def conditions_table(results: dict, workloads: list[Workload], conditions: list[str]) -> str:
    """One column per condition. Per figure: each implementation's median and, after it, the
    median of its per-round ratios to its own quiet run; executor ÷ each baseline under the same
    condition; the condition targets."""
    head = ["workload", "figure", ""] + conditions
    rows = []
    for w in workloads:
        res = results.get(w.name)
        if res is None or res.get("skipped") or len(res["conditions"]) < 2:
            continue  # not run, or quiet only (idle_connections)
        impl_names = [i.name for i in w.impls]
        lines: list[tuple[str, str, dict[str, str]]] = []  # (figure, what, cell by condition)
        for key in w.condition_metrics or (w.metrics[0].key,):
            m = w.metric(key)
            label = f"{m.label} {'↑' if m.higher_is_better else '↓'}"
            stats = {c: run["summary"]["metrics"][key] for c, run in res["conditions"].items()}
            for impl in impl_names:
                cells = {c: fmt_value(s["median"].get(impl), m) for c, s in stats.items()}
                for c, s in stats.items():
                    if c != "quiet" and impl in s["vs_quiet"]:
                        cells[c] += f"; {fmt_ratio(s['vs_quiet'][impl])}"
                lines.append((label, IMPL_TITLES[impl], cells))
            for base in impl_names[1:]:
                cells = {c: fmt_ratio(s["ratios"].get(base)) for c, s in stats.items()}
                lines.append((label, f"executor ÷ {BASELINE_TITLES[base]}", cells))
            if any(key in w.condition_targets.get(c, {}) for c in stats):
                cells = {
                    c: target_cells(check_targets(w.condition_targets.get(c, {}).get(key, []),
                                                  view(results, w, c, key)))
                    for c in stats
                }
                lines.append((label, "targets", cells))
        previous_label = None
        for n, (label, what, cells) in enumerate(lines):
            rows.append([w.name if n == 0 else "", label if label != previous_label else "", what]
                        + [cells.get(c, "not run") for c in conditions])
            previous_label = label
    return table_lines(head, rows)


def svg_chart(results: dict, workloads: list[Workload]) -> str:
    """Horizontal bars: executor's advantage over each baseline on the quiet machine (>1:
    executor better), with the min-max of the rounds as whiskers, on a log scale."""
    import math

    bars = []
    for w in workloads:
        res = results.get(w.name)
        if not res or res.get("skipped"):
            continue
        for m in w.metrics:
            for b, r in res["conditions"]["quiet"]["summary"]["metrics"][m.key]["ratios"].items():
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
        "nproc": usable_cpus(),
        "loadavg_start": os.getloadavg()[0],
    }


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              timeout=30).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit or 'unknown'}{' (with uncommitted changes)' if dirty else ''}"


# --------------------------------------------------------------------------------------------


def parse_conditions(values: list[str]) -> list[str] | str:
    """--condition/--conditions values (repeatable, comma lists, `all`) in CONDITIONS order,
    quiet always included (every condition is reported relative to it); or an error message."""
    names = {n.strip() for v in values for n in v.split(",") if n.strip()}
    if "all" in names:
        names = set(CONDITIONS)
    unknown = names - set(CONDITIONS)
    if unknown:
        return (f"unknown condition(s): {', '.join(sorted(unknown))} "
                f"(choose from {', '.join(CONDITIONS)}, all)")
    names.add("quiet")
    return [c for c in CONDITIONS if c in names]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default="build/release", type=Path)
    ap.add_argument("--quick", action="store_true",
                    help="one timed iteration per process, a tenth of the I/O workloads' "
                    "operations, 1 s echo runs (under 2 minutes for the quiet condition)")
    ap.add_argument("--smoke", action="store_true",
                    help="--quick with a single round: checks that everything runs; its "
                    "figures are not measurements")
    ap.add_argument("--pairs", type=int, default=5,
                    help="rounds of alternating runs per workload and condition (at least 5)")
    ap.add_argument("--only", default="",
                    help="comma-separated workloads to run (default: all)")
    ap.add_argument("--condition", "--conditions", dest="conditions", action="append",
                    default=[], metavar="NAMES",
                    help="conditions to run, repeatable or comma-separated: "
                    f"{', '.join(CONDITIONS)} or all (default: quiet; quiet always runs too, as "
                    "the reference of the others)")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="where to write results.json, results.md, ratios.svg "
                    "(default: <build-dir>/bench-results)")
    ap.add_argument("--list", action="store_true", help="list the workloads and exit")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    if args.list:
        for w in WORKLOADS:
            print(f"{w.name:20} {w.description}")
        print(f"\nconditions: {', '.join(CONDITIONS)} (docs/performance.md#conditions)")
        return 0
    if args.smoke:
        args.quick = True
        args.pairs = 1
    elif args.pairs < 5:
        print("bench_report: --pairs must be at least 5 (shared/BENCHMARKS.md)", file=sys.stderr)
        return 2
    condition_names = parse_conditions(args.conditions)
    if isinstance(condition_names, str):
        print(f"bench_report: {condition_names}", file=sys.stderr)
        return 2
    only = set(filter(None, args.only.split(",")))
    unknown = only - {w.name for w in WORKLOADS}
    if unknown:
        print(f"bench_report: unknown workload(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    selected = [w for w in WORKLOADS if not only or w.name in only]

    bench_dir = args.build_dir / "bench"
    out_dir = args.out_dir or (args.build_dir / "bench-results")
    out_dir.mkdir(parents=True, exist_ok=True)
    runner = Runner(bench_dir, args.quick, args.verbose)
    info = machine_info()
    command = os.environ.get("BENCH_COMMAND") or shlex.join(["tools/bench_report.py", *sys.argv[1:]])
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()

    # SIGTERM unwinds like Ctrl-C, so that the finally below kills the hogs and removes the
    # cgroup.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    conditions: list[Condition] = []
    skipped_conditions: dict[str, str] = {}
    try:
        for name in condition_names:
            c = make_condition(name, bench_dir)
            if isinstance(c, str):
                skipped_conditions[name] = c
                print(f"-- condition {name}: skipped: {c}", file=sys.stderr)
            else:
                conditions.append(c)
        results = run_all(runner, selected, conditions, args.pairs)
    finally:
        for c in conditions:
            c.close()

    elapsed = time.monotonic() - t0
    info["loadavg_end"] = os.getloadavg()[0]
    ran = [c.name for c in conditions]
    condition_lines = [f"- `{c.name}`: {c.describe()}" for c in conditions]
    condition_lines += [f"- `{n}`: skipped: {why}" for n, why in skipped_conditions.items()]
    rounds = "1 round (smoke run: not a measurement)" if args.smoke else (
        f"{args.pairs} alternating rounds{' (quick)' if args.quick else ''}")
    header = (
        f"executor benchmarks, {started:%Y-%m-%d %H:%M} UTC; {elapsed:.0f} s.\n"
        f"Machine: {info['host']}, nproc {info['nproc']} ({info['cpus']} × {info['cpu']}), "
        f"Linux {info['kernel']}, load average {info['loadavg_start']:.1f} → "
        f"{info['loadavg_end']:.1f}.\n"
        f"Command: `{command}`; git commit {git_commit()}; {rounds}.\n"
        "Conditions:\n" + "\n".join(condition_lines) + "\n\n"
        "Ratio = executor ÷ baseline (or, under a condition, each implementation's figure ÷ its "
        "quiet figure): median of the per-round ratios (min–max); ↑ higher is better, ↓ lower is "
        "better.\n"
    )
    tables = "### quiet\n\n" + quiet_table(results, selected) + "\n"
    if len(ran) > 1:
        tables += ("\n### Under each condition\n\n" + conditions_table(results, selected, ran)
                   + "\n")
    print()
    print(header)
    print(tables)

    (out_dir / "results.md").write_text(header + "\n" + tables)
    (out_dir / "results.json").write_text(
        json.dumps(
            {
                "started": started.isoformat(),
                "seconds": elapsed,
                "command": command,
                "git_commit": git_commit(),
                "pairs": args.pairs,
                "quick": args.quick,
                "smoke": args.smoke,
                "machine": info,
                "conditions": {c.name: c.describe() for c in conditions},
                "skipped_conditions": skipped_conditions,
                "workloads": results,
            },
            indent=1,
        )
    )
    (out_dir / "ratios.svg").write_text(svg_chart(results, selected))
    print(f"raw results: {out_dir / 'results.json'}; table: {out_dir / 'results.md'}; "
          f"chart: {out_dir / 'ratios.svg'}", file=sys.stderr)
    failed = any(run.get("errors") for r in results.values()
                 for run in r.get("conditions", {}).values())
    return 1 if failed else 0


def run_all(runner: Runner, workloads: list[Workload], conditions: list[Condition],
            pairs: int) -> dict:
    """Per workload, `pairs` rounds; each round runs one executor/baselines pair under every
    condition in turn, so that a condition's round and its quiet reference are adjacent in
    time."""
    results: dict = {}
    for w in workloads:
        impls = [i for i in w.impls if runner.available(i)]
        missing = [i.name for i in w.impls if i not in impls]
        if not impls or impls[0].name != "executor":
            results[w.name] = {"skipped": "not built yet (" + w.impls[0].argv[0] + ")"}
            print(f"-- {w.name}: skipped (executor's binary is not built)", file=sys.stderr)
            continue
        if missing:
            print(f"-- {w.name}: no {', '.join(missing)} baseline built", file=sys.stderr)
        conds = [c for c in conditions if c.name in w.conditions]
        rounds: dict[str, list[dict]] = {c.name: [] for c in conds}
        errors: dict[str, list[str]] = {c.name: [] for c in conds}
        for k in range(pairs):
            for cond in conds:
                this_round: dict = {}
                with cond.pair() as problems:
                    for impl in impls:
                        try:
                            this_round[impl.name] = runner.run(w, impl, cond)
                        except RunError as e:
                            errors[cond.name].append(str(e))
                            print(f"!! {w.name}/{impl.name} [{cond.name}]: {e}", file=sys.stderr)
                for p in problems:
                    errors[cond.name].append(p)
                    print(f"!! {w.name} [{cond.name}] round {k + 1} dropped: {p}", file=sys.stderr)
                rounds[cond.name].append({} if problems else this_round)
                m = w.metrics[0]
                short = ", ".join(f"{n}={r.get(m.key, float('nan')) * m.scale:.3g}"
                                  for n, r in this_round.items())
                print(f"-- {w.name} [{cond.name}] round {k + 1}/{pairs}: {short}",
                      file=sys.stderr)
        results[w.name] = {
            "conditions": {
                c.name: {
                    "rounds": rounds[c.name],
                    "errors": errors[c.name],
                    "summary": summarize(w, rounds[c.name],
                                         None if c.name == "quiet" else rounds.get("quiet")),
                }
                for c in conds
            },
            "baselines_missing": missing,
        }
    return results


if __name__ == "__main__":
    sys.exit(main())
