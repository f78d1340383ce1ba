// Workload `file_read` (../shared/BENCHMARKS.md): random 4 KiB reads from a 256 MiB file in the
// page cache, 32 in flight, through executor::io::File, 2 worker threads (bench::workers());
// 256,000 reads per timed iteration (bench::kReadsPerIteration, scaled by --ops_fraction).
//
// 32 tasks ("streams"), each owning one 4 KiB io::Buffer and awaiting one read_at at a time,
// 8,000 reads each; stream s reads the offsets bench::Offsets(s + 1) yields (common/
// data_file.hpp), exactly like the raw liburing baseline's slot s
// (bench/baselines/uring_workloads.cpp) and the Asio baseline's coroutine s
// (bench/baselines/asio_workloads.cpp). Every read must return 4,096 bytes.
//
// (bench/io_file_read_bench.cpp is the I/O layer's own, smaller variant: 64 MiB, 1 and 2
// workers, with its raw-ring comparison in the same binary.)
#include <executor/executor.hpp>

#include <cstdint>
#include <vector>

#include <executor/io/io.hpp>

#include "common/data_file.hpp"
#include "common/harness.hpp"

namespace {

using namespace executor;

constexpr int kInFlight = bench::kReadStreams;

Task<std::int64_t> stream(io::File* f, unsigned s, std::int64_t reads) {
  bench::Offsets offsets(s + 1);
  io::Buffer buf(bench::kBlockSize);
  std::int64_t ok = 0;
  for (std::int64_t i = 0; i < reads; ++i) {
    buf.clear();
    absl::StatusOr<std::size_t> n = co_await f->read_at(buf, offsets.next());
    if (n.ok() && *n == bench::kBlockSize) ++ok;
  }
  co_return ok;
}

Task<std::int64_t> file_reads(io::File* f, std::int64_t reads) {
  std::vector<JoinHandle<std::int64_t>> handles;
  handles.reserve(kInFlight);
  for (unsigned s = 0; s < kInFlight; ++s)
    handles.push_back(spawn(stream(f, s, reads / kInFlight)));
  std::int64_t ok = 0;
  for (auto& h : handles) ok += co_await h.join();
  co_return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Runtime rt({.workers = bench::workers()});
  io::File file;  // opened (and the data file created) on first use only
  return bench::run_main(
      argc, argv, "executor",
      {
          {"file_read", bench::kReadsPerIteration, 3,
           [&] {
             if (!file.is_open()) {
               absl::StatusOr<io::File> f = io::File::adopt(bench::open_data_file());
               bench::check(f.ok(), "open the data file");
               file = std::move(*f);
             }
             std::int64_t reads = bench::scaled_ops(bench::kReadsPerIteration, kInFlight);
             bench::check(rt.block_on(file_reads(&file, reads)) == reads, "read results");
           },
           kInFlight},
      });
}
