// file_read (docs: ../shared/BENCHMARKS.md): 4 KiB random reads from a file in the page cache,
// 32 in flight, through executor::io — and, in the same binary, the same workload on one raw
// liburing ring in one thread (the physical limit this runtime's scheduling sits on top of).
//
//   ./build/release/bench/io_file_read_bench --benchmark_min_time=0.5
//   EXECUTOR_BACKEND=epoll ./build/release/bench/io_file_read_bench   (the fallback)
//
// The file (64 MiB, in $TMPDIR or /tmp) is created once and read fully to warm the page cache.
// items_per_second is reads/s.
#include <fcntl.h>
#include <liburing.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <executor/io/io.hpp>
#include <executor/join_handle.hpp>
#include <executor/runtime.hpp>
#include <executor/spawn.hpp>

namespace {

using namespace executor;

constexpr std::size_t kFileSize = 64u << 20;
constexpr std::size_t kBlock = 4096;
constexpr int kInFlight = 32;
constexpr int kReadsPerTask = 256;  // per benchmark iteration

const std::string& bench_file() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string p = std::string(dir != nullptr ? dir : "/tmp") + "/executor_file_read_bench.dat";
    int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct stat st {};
    ::fstat(fd, &st);
    std::vector<char> block(1 << 20);
    if (static_cast<std::size_t>(st.st_size) != kFileSize) {
      for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 31);
      for (std::size_t off = 0; off < kFileSize; off += block.size()) {
        if (::pwrite(fd, block.data(), block.size(), static_cast<off_t>(off)) < 0) std::abort();
      }
    }
    for (std::size_t off = 0; off < kFileSize; off += block.size()) {  // warm the page cache
      if (::pread(fd, block.data(), block.size(), static_cast<off_t>(off)) < 0) std::abort();
    }
    ::close(fd);
    return p;
  }();
  return path;
}

std::uint64_t next(std::uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

Task<std::size_t> reader(io::File* f, std::uint64_t seed, int reads) {
  io::Buffer buf(kBlock);
  std::size_t bytes = 0;
  for (int i = 0; i < reads; ++i) {
    buf.clear();
    std::uint64_t off = (next(seed) % (kFileSize / kBlock)) * kBlock;
    absl::StatusOr<std::size_t> n = co_await f->read_at(buf, off);
    if (!n.ok()) std::abort();
    bytes += *n;
  }
  co_return bytes;
}

Task<std::size_t> read_batch(io::File* f, std::uint64_t round) {
  std::vector<JoinHandle<std::size_t>> hs;
  hs.reserve(kInFlight);
  for (int t = 0; t < kInFlight; ++t) {
    hs.push_back(
        spawn(reader, f, 0x9E3779B97F4A7C15ULL * (round * kInFlight + t + 1), kReadsPerTask));
  }
  std::size_t total = 0;
  for (auto& h : hs) total += co_await std::move(h);
  co_return total;
}

Task<io::File> open_file() {
  absl::StatusOr<io::File> f = co_await io::File::open_read(bench_file());
  if (!f.ok()) std::abort();
  co_return std::move(*f);
}

void BM_ExecutorFileRead(benchmark::State& state) {
  Runtime rt({.workers = static_cast<unsigned>(state.range(0))});
  io::File f = rt.block_on(open_file());
  std::uint64_t round = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rt.block_on(read_batch(&f, ++round)));
  }
  state.SetItemsProcessed(state.iterations() * kInFlight * kReadsPerTask);
  state.SetLabel(rt.block_on([]() -> Task<std::string> {
    co_return io::backend_name();
  }()));
}
BENCHMARK(BM_ExecutorFileRead)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// One thread, one ring, 32 reads in flight: resubmit each completed slot.
void BM_RawUringFileRead(benchmark::State& state) {
  int fd = ::open(bench_file().c_str(), O_RDONLY | O_CLOEXEC);
  io_uring ring;
  if (io_uring_queue_init(64, &ring, 0) < 0) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  std::vector<std::unique_ptr<char[]>> bufs;
  for (int i = 0; i < kInFlight; ++i) bufs.emplace_back(new char[kBlock]);
  std::uint64_t seed = 0x12345678;
  auto submit = [&](int slot) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    std::uint64_t off = (next(seed) % (kFileSize / kBlock)) * kBlock;
    io_uring_prep_read(sqe, fd, bufs[slot].get(), kBlock, off);
    io_uring_sqe_set_data64(sqe, static_cast<std::uint64_t>(slot));
  };
  const long per_iter = static_cast<long>(kInFlight) * kReadsPerTask;
  for (auto _ : state) {
    long started = 0, done = 0;
    for (int i = 0; i < kInFlight; ++i, ++started) submit(i);
    while (done < per_iter) {
      io_uring_submit_and_wait(&ring, 1);
      unsigned head, seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring, head, cqe) {
        ++seen;
        ++done;
        if (cqe->res < 0) std::abort();
        if (started < per_iter) {
          submit(static_cast<int>(cqe->user_data));
          ++started;
        }
      }
      io_uring_cq_advance(&ring, seen);
    }
  }
  state.SetItemsProcessed(state.iterations() * per_iter);
  io_uring_queue_exit(&ring);
  ::close(fd);
}
BENCHMARK(BM_RawUringFileRead)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
