// The harness every Google Benchmark workload binary uses (executor's and the baselines'), so
// that all implementations are measured the same way:
//
//  * each workload has fixed parameters (../shared/BENCHMARKS.md) and a fixed iteration count
//    (`--iterations=N` overrides it; the bench driver's --quick mode passes 1);
//  * `--ops_fraction=F` (0 < F <= 1; the driver's --quick mode passes 0.1) shortens each
//    iteration of the workloads that opt in (Workload::ops_multiple > 0, the I/O workloads):
//    they run scaled_ops(ops, multiple) operations instead of `ops` — the same count for every
//    implementation, with unchanged parameters (in-flight count, sizes);
//  * one untimed warm-up run precedes the timed iterations (first-touch page faults and heap
//    growth are then paid by the warm-up for every implementation alike);
//  * time is wall-clock (UseRealTime): the work runs on other threads;
//  * after the usual Google Benchmark table, one machine-readable line per workload:
//      impl=executor workload=spawn_join n=1000000 iterations=3 seconds=0.41 ops_per_s=2.44e6
//      peak_rss_kb=51234
//    where `seconds` is the mean wall time of one iteration, `n` the operations in one
//    iteration, and `peak_rss_kb` the process's peak resident set (VmHWM). The bench driver
//    runs one workload per process (--benchmark_filter), so the peak belongs to that workload.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "rss.hpp"
#include "workers.hpp"

namespace bench {

struct Workload {
  std::string name;           // as in BENCHMARKS.md (spawn_join, yield, io_nop, ...)
  std::int64_t ops;           // operations per iteration (tasks, yields, NOPs, ...)
  int iterations;             // timed iterations per process
  std::function<void()> run;  // one iteration; aborts the process if the result is wrong
  // > 0: the workload honours --ops_fraction; an iteration then runs
  // scaled_ops(ops, ops_multiple) operations (run() must ask scaled_ops for its count).
  std::int64_t ops_multiple = 0;
};

namespace detail {
inline double ops_fraction = 1.0;  // --ops_fraction, set by run_main before any run
}  // namespace detail

// `full` scaled by --ops_fraction, rounded to a multiple of `multiple` (at least one multiple).
inline std::int64_t scaled_ops(std::int64_t full, std::int64_t multiple) {
  auto n =
      static_cast<std::int64_t>(
          static_cast<double>(full) * detail::ops_fraction / static_cast<double>(multiple) + 0.5) *
      multiple;
  return n < multiple ? multiple : n;
}

// Prints a failure and exits: a benchmark whose result is wrong must not report a number.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "benchmark check failed: %s\n", what);
  std::exit(3);
}
inline void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

namespace detail {

class LineReporter : public benchmark::ConsoleReporter {
 public:
  explicit LineReporter(const char* impl) : impl_(impl) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration || r.iterations == 0) continue;
      auto it = ops_.find(r.run_name.function_name);
      if (it == ops_.end()) continue;
      double per_iter = r.real_accumulated_time / static_cast<double>(r.iterations);
      double ops = static_cast<double>(it->second);
      char line[512];
      std::snprintf(line, sizeof line,
                    "impl=%s workload=%s n=%lld iterations=%lld seconds=%.6f ops_per_s=%.4e "
                    "peak_rss_kb=%ld\n",
                    impl_, r.run_name.function_name.c_str(), static_cast<long long>(it->second),
                    static_cast<long long>(r.iterations), per_iter, ops / per_iter, peak_rss_kb());
      GetOutputStream() << line << std::flush;
    }
  }
  std::map<std::string, std::int64_t> ops_;

 private:
  const char* impl_;
};

}  // namespace detail

// Registers `workloads`, runs those selected by --benchmark_filter, prints the lines above.
// Extra flags: --iterations=N (timed iterations per workload; default: each workload's own),
// --ops_fraction=F (see above).
inline int run_main(int argc, char** argv, const char* impl, std::vector<Workload> workloads) {
  int iterations_override = 0;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--iterations=", 13) == 0) {
      iterations_override = std::atoi(argv[i] + 13);
      if (iterations_override <= 0) {
        std::fprintf(stderr, "--iterations must be a positive integer\n");
        return 2;
      }
      continue;
    }
    if (std::strncmp(argv[i], "--ops_fraction=", 15) == 0) {
      char* end = nullptr;
      double f = std::strtod(argv[i] + 15, &end);
      if (end == argv[i] + 15 || *end != '\0' || !(f > 0 && f <= 1)) {
        std::fprintf(stderr, "--ops_fraction must be a number in (0, 1]\n");
        return 2;
      }
      detail::ops_fraction = f;
      continue;
    }
    args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;

  static std::vector<Workload> table;  // outlives the registered lambdas
  table = std::move(workloads);
  detail::LineReporter reporter(impl);
  for (Workload& w : table) {
    if (w.ops_multiple > 0) w.ops = scaled_ops(w.ops, w.ops_multiple);
    reporter.ops_[w.name] = w.ops;
    Workload* wp = &w;
    benchmark::RegisterBenchmark(w.name.c_str(),
                                 [wp](benchmark::State& state) {
                                   wp->run();  // warm-up, untimed
                                   for (auto _ : state) wp->run();
                                   state.counters["ops_per_s"] = benchmark::Counter(
                                       static_cast<double>(wp->ops),
                                       benchmark::Counter::kIsIterationInvariantRate);
                                 })
        ->Iterations(iterations_override > 0 ? iterations_override : w.iterations)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace bench
