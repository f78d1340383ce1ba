// Raw liburing baseline, one thread, no runtime: the physical limit of the I/O workloads of
// ../shared/BENCHMARKS.md, with the same names and parameters as executor's binaries:
//   io_nop      bench/runtime_io_nop_bench.cpp   (256,000 NOPs per iteration, 32 in flight)
//   file_read   bench/runtime_file_read_bench.cpp (256,000 random 4 KiB reads per iteration of a
//                                                 256 MiB file in the page cache, 32 in flight)
// Both honour --ops_fraction (common/harness.hpp) like executor's.
// The loop is what a hand-written single-threaded io_uring program does: keep 32 operations in
// flight, reap every available completion, refill, and submit+wait in one system call.
#include <liburing.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/data_file.hpp"
#include "common/harness.hpp"

namespace {

constexpr unsigned kInFlight = 32;
constexpr std::int64_t kOps = 256'000;  // per timed iteration, as executor's

class Ring {
 public:
  explicit Ring(unsigned entries) {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
    int r = io_uring_queue_init_params(entries, &ring_, &p);
    if (r < 0) {
      std::fprintf(stderr, "io_uring_queue_init: %s\n", std::strerror(-r));
      std::exit(2);
    }
  }
  ~Ring() { io_uring_queue_exit(&ring_); }
  io_uring* get() noexcept { return &ring_; }

 private:
  io_uring ring_{};
};

std::int64_t nops(io_uring* ring, std::int64_t ops) {
  std::int64_t submitted = 0;
  std::int64_t completed = 0;
  std::int64_t ok = 0;
  auto refill = [&](unsigned n) {
    for (unsigned i = 0; i < n && submitted < ops; ++i) {
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      if (sqe == nullptr) bench::fail("SQ full");
      io_uring_prep_nop(sqe);
      io_uring_sqe_set_data64(sqe, static_cast<std::uint64_t>(submitted));
      ++submitted;
    }
  };
  refill(kInFlight);
  while (completed < ops) {
    int r = io_uring_submit_and_wait(ring, 1);
    if (r < 0 && r != -EINTR) bench::fail("io_uring_submit_and_wait");
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring, head, cqe) {
      ++seen;
      if (cqe->res == 0) ++ok;
    }
    io_uring_cq_advance(ring, seen);
    completed += seen;
    refill(seen);
  }
  return ok;
}

static_assert(bench::kReadStreams == kInFlight);

// Slot s (one buffer, one read in flight at a time) reads the offsets bench::Offsets(s + 1)
// yields, reads / 32 of them: the same streams as executor's 32 tasks and Asio's 32 coroutines.
std::int64_t file_reads(io_uring* ring, int fd, std::int64_t reads) {
  const std::int64_t per_slot = reads / kInFlight;
  static char buffers[kInFlight][bench::kBlockSize] alignas(4096);
  struct Slot {
    bench::Offsets offsets;
    std::int64_t submitted = 0;
  };
  std::vector<Slot> slots;
  for (unsigned s = 0; s < kInFlight; ++s) slots.push_back(Slot{bench::Offsets(s + 1)});
  std::int64_t completed = 0;
  std::int64_t ok = 0;
  auto read_into = [&](unsigned slot) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (sqe == nullptr) bench::fail("SQ full");
    io_uring_prep_read(sqe, fd, buffers[slot], bench::kBlockSize, slots[slot].offsets.next());
    io_uring_sqe_set_data64(sqe, slot);
    ++slots[slot].submitted;
  };
  for (unsigned slot = 0; slot < kInFlight; ++slot) read_into(slot);
  while (completed < reads) {
    int r = io_uring_submit_and_wait(ring, 1);
    if (r < 0 && r != -EINTR) bench::fail("io_uring_submit_and_wait");
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring, head, cqe) {
      ++seen;
      if (cqe->res == static_cast<int>(bench::kBlockSize)) ++ok;
      auto slot = static_cast<unsigned>(io_uring_cqe_get_data64(cqe));
      if (slots[slot].submitted < per_slot) read_into(slot);
    }
    io_uring_cq_advance(ring, seen);
    completed += seen;
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Ring ring(64);
  int fd = -1;  // opened (and created) on first use only
  return bench::run_main(argc, argv, "uring",
                         {
                             {"io_nop", kOps, 3,
                              [&] {
                                std::int64_t n = bench::scaled_ops(kOps, kInFlight);
                                bench::check(nops(ring.get(), n) == n, "nop results");
                              },
                              kInFlight},
                             {"file_read", bench::kReadsPerIteration, 3,
                              [&] {
                                if (fd < 0) fd = bench::open_data_file();
                                std::int64_t n =
                                    bench::scaled_ops(bench::kReadsPerIteration, kInFlight);
                                bench::check(file_reads(ring.get(), fd, n) == n, "read results");
                              },
                              kInFlight},
                         });
}
