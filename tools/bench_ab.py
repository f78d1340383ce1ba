#!/usr/bin/env python3
"""Compare two or more builds (or settings) of one benchmark, alternating, on a noisy machine.

    tools/bench_ab.py ROUNDS KEY -- CMD_A ... -- CMD_B ... [-- CMD_C ...]

Runs CMD_A, CMD_B, ... in turn, ROUNDS times, reads the last `KEY=value` each one prints (e.g.
ops_per_s, seconds, overshoot_mean_ms: the fields of the benchmarks' result lines), and prints
each command's median and its ratio to CMD_A: the median of the per-round ratios with their
min-max. Runs adjacent in time share the machine's load, so the ratio is what to quote.

Example (a runtime change, before/after copies of a benchmark binary):
    tools/bench_ab.py 9 ops_per_s -- /tmp/old/core_yield_bench -- build/release/bench/core_yield_bench
"""
import re
import statistics
import subprocess
import sys


def main() -> int:
    if len(sys.argv) < 6 or sys.argv[3] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    rounds = int(sys.argv[1])
    key = sys.argv[2]
    cmds: list[list[str]] = []
    for a in sys.argv[3:]:
        if a == "--":
            cmds.append([])
        else:
            cmds[-1].append(a)
    pattern = re.compile(re.escape(key) + r"=([0-9.eE+-]+)")
    values: list[list[float]] = [[] for _ in cmds]
    for _ in range(rounds):
        for i, cmd in enumerate(cmds):
            proc = subprocess.run(cmd, capture_output=True, text=True)
            found = pattern.findall(proc.stdout)
            if proc.returncode != 0 or not found:
                print(f"{' '.join(cmd)}: exit {proc.returncode}, no {key}=", file=sys.stderr)
                values[i].append(float("nan"))
            else:
                values[i].append(float(found[-1]))
        print("  ".join(f"{v[-1]:.4g}" for v in values), flush=True)
    for i, cmd in enumerate(cmds):
        pairs = [(a, b) for a, b in zip(values[i], values[0]) if a == a and b == b and b != 0]
        ratios = [a / b for a, b in pairs] or [float("nan")]
        print(f"{i}: median {statistics.median(values[i]):.4g}  ratio to 0: "
              f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})  "
              f"{' '.join(cmd)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
