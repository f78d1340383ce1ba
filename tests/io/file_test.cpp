// executor::io::File: reads, writes, vectors, whole-file helpers, stat/sync/close, a file that
// shrinks while read, bad input, and cancellation that never leaks a descriptor.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <executor/io/io.hpp>
#include <executor/runtime.hpp>
#include <executor/spawn.hpp>
#include <executor/timeout.hpp>

#include "io_test_util.hpp"

namespace executor::io {
namespace {

using namespace std::chrono_literals;
using testing::open_fds;
using testing::TempPath;

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
  return s;
}

// Waits (briefly) for asynchronous closes to settle to `want` open descriptors.
int settle_fds(int want) {
  int n = open_fds();
  for (int i = 0; i < 500 && n > want; ++i) {
    std::this_thread::sleep_for(2ms);
    n = open_fds();
  }
  return n;
}

Task<std::string> backend() {
  co_return std::string(backend_name());
}

TEST(File, UsesTheRegisteredBackend) {
  Runtime rt({.workers = 2});
  EXPECT_EQ(rt.block_on(backend()), testing::expected_backend());
}

Task<void> write_then_read(std::string path) {
  std::string data = pattern(100'000);
  {
    absl::StatusOr<File> f = co_await File::create(path);
    EXPECT_TRUE(f.ok()) << f.status();
    Buffer buf = Buffer::copy_of(data);
    EXPECT_TRUE((co_await f->write_all_at(buf, 0)).ok());
    EXPECT_EQ(buf.view(), data);  // the buffer comes back intact
    EXPECT_TRUE((co_await f->sync()).ok());
    EXPECT_TRUE((co_await f->datasync()).ok());
    absl::StatusOr<FileStat> st = co_await f->stat();
    EXPECT_TRUE(st.ok()) << st.status();
    EXPECT_EQ(st->size, data.size());
    EXPECT_TRUE((co_await f->close()).ok());
    EXPECT_FALSE(f->is_open());
    EXPECT_TRUE((co_await f->close()).ok());  // closing twice is harmless
  }
  absl::StatusOr<File> f = co_await File::open_read(path);
  EXPECT_TRUE(f.ok()) << f.status();
  // One read: at most the spare room, appended after existing data.
  Buffer small(10);
  small.append("xy");
  absl::StatusOr<std::size_t> n = co_await f->read_at(small, 5);
  EXPECT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 8u);
  EXPECT_EQ(small.view(), "xy" + data.substr(5, 8));
  // Loop until full.
  Buffer all(data.size());
  absl::StatusOr<std::size_t> m = co_await f->read_all_at(all, 0);
  EXPECT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, data.size());
  EXPECT_EQ(all.view(), data);
  // At end of file a read yields 0.
  Buffer tail(16);
  absl::StatusOr<std::size_t> z = co_await f->read_at(tail, data.size());
  EXPECT_TRUE(z.ok());
  EXPECT_EQ(*z, 0u);
}

TEST(File, WriteThenReadBack) {
  Runtime rt({.workers = 2});
  TempPath p("rw");
  rt.block_on(write_then_read(p.str()));
}

Task<void> vectors(std::string path) {
  absl::StatusOr<File> f = co_await File::open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  EXPECT_TRUE(f.ok()) << f.status();
  Buffer parts[3] = {Buffer::copy_of("hello "), Buffer::copy_of("vectored "),
                     Buffer::copy_of("world")};
  absl::StatusOr<std::size_t> w = co_await f->writev_at(parts, 0);
  EXPECT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(*w, 20u);
  EXPECT_EQ(parts[1].view(), "vectored ");
  Buffer in[2] = {Buffer(4), Buffer(100)};
  absl::StatusOr<std::size_t> r = co_await f->readv_at(in, 0);
  EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 20u);
  EXPECT_EQ(in[0].view(), "hell");
  EXPECT_EQ(in[1].view(), "o vectored world");
}

TEST(File, ReadvWritev) {
  Runtime rt({.workers = 2});
  TempPath p("vec");
  rt.block_on(vectors(p.str()));
}

Task<void> whole_file(std::string path) {
  std::string data = pattern(3 * 1000 * 1000 + 17);
  Buffer out = Buffer::copy_of(data);
  EXPECT_TRUE((co_await write_file(path, out)).ok());
  absl::StatusOr<Buffer> in = co_await read_file(path);
  EXPECT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->view(), data);
  absl::StatusOr<Buffer> missing = co_await read_file(path + ".missing");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(File, ReadFileWriteFile) {
  Runtime rt({.workers = 2});
  TempPath p("whole");
  rt.block_on(whole_file(p.str()));
}

// read_file has a size limit: a file larger than it (known from stat) is refused before any
// read; /dev/zero (stat size 0, endless) stops once the limit is passed.
Task<void> read_file_limits(std::string sparse, std::string small) {
  absl::StatusOr<Buffer> zero = co_await read_file("/dev/zero", 1 << 20);
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kOutOfRange) << zero.status();
  EXPECT_EQ(error_info(zero.status())->error_number, EFBIG);
  EXPECT_NE(zero.status().message().find("1048576"), std::string_view::npos) << zero.status();
  absl::StatusOr<Buffer> big = co_await read_file(sparse);  // over the default limit
  EXPECT_EQ(big.status().code(), absl::StatusCode::kOutOfRange) << big.status();
  EXPECT_EQ((co_await read_file(small, 999)).status().code(), absl::StatusCode::kOutOfRange);
  absl::StatusOr<Buffer> fits = co_await read_file(small, 1000);
  EXPECT_TRUE(fits.ok()) << fits.status();
  if (fits.ok()) {
    EXPECT_EQ(fits->size(), 1000u);
  }
}

TEST(File, ReadFileHasASizeLimit) {
  TempPath sparse("limit");
  testing::write_sync(sparse.str(), "");
  ASSERT_EQ(::truncate(sparse.str().c_str(), static_cast<off_t>(kReadFileDefaultMax + 1)), 0);
  TempPath small("limit_small");
  testing::write_sync(small.str(), std::string(1000, 'x'));
  Runtime rt({.workers = 2});
  rt.block_on(read_file_limits(sparse.str(), small.str()));
}

Task<void> shrinking(std::string path) {
  absl::StatusOr<File> f = co_await File::open_read(path);
  EXPECT_TRUE(f.ok()) << f.status();
  absl::StatusOr<FileStat> st = co_await f->stat();
  EXPECT_EQ(st->size, 1u << 20);
  // Another writer truncates the file between our stat and our reads.
  EXPECT_EQ(::truncate(path.c_str(), 100'000), 0);
  Buffer buf(static_cast<std::size_t>(st->size));
  absl::StatusOr<std::size_t> n = co_await f->read_all_at(buf, 0);
  EXPECT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 100'000u);  // short at the new end of file, no error
  EXPECT_EQ(buf.view(), pattern(1 << 20).substr(0, 100'000));
  Buffer beyond(10);
  absl::StatusOr<std::size_t> z = co_await f->read_at(beyond, 500'000);
  EXPECT_TRUE(z.ok());
  EXPECT_EQ(*z, 0u);
  absl::StatusOr<Buffer> whole = co_await read_file(path);
  EXPECT_EQ(whole->size(), 100'000u);
}

TEST(File, ReadingAFileThatShrinks) {
  Runtime rt({.workers = 2});
  TempPath p("shrink");
  testing::write_sync(p.str(), pattern(1 << 20));
  rt.block_on(shrinking(p.str()));
}

Task<void> bad_input(std::string path) {
  absl::StatusOr<File> empty = co_await File::open("", O_RDONLY);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<File> nul = co_await File::open(std::string("a\0b", 3), O_RDONLY);
  EXPECT_EQ(nul.status().code(), absl::StatusCode::kInvalidArgument);

  absl::StatusOr<File> missing = co_await File::open_read(path + ".nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  std::optional<IoError> info = error_info(missing.status());
  EXPECT_TRUE(info.has_value());
  EXPECT_EQ(info->error_number, ENOENT);
  EXPECT_EQ(info->operation, "open");
  EXPECT_NE(missing.status().message().find(".nope"), std::string_view::npos);

  absl::StatusOr<File> f = co_await File::open_read(path);
  EXPECT_TRUE(f.ok());
  Buffer none;  // zero capacity
  absl::StatusOr<std::size_t> r0 = co_await f->read_at(none, 0);
  EXPECT_EQ(r0.status().code(), absl::StatusCode::kInvalidArgument);
  Buffer full = Buffer::copy_of("abc");  // no spare room
  EXPECT_EQ((co_await f->read_at(full, 0)).status().code(), absl::StatusCode::kInvalidArgument);
  Buffer nothing(8);  // no data to write
  EXPECT_EQ((co_await f->write_at(nothing, 0)).status().code(), absl::StatusCode::kInvalidArgument);
  // Writing to a read-only file: the kernel's EBADF.
  Buffer data = Buffer::copy_of("data");
  absl::StatusOr<std::size_t> w = co_await f->write_at(data, 0);
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(error_info(w.status())->error_number, EBADF);
  EXPECT_EQ(data.view(), "data");  // the buffer comes back even on error
  EXPECT_EQ((co_await f->readv_at({}, 0)).status().code(), absl::StatusCode::kInvalidArgument);

  // Operations on a closed / empty File: EBADF, no syscall.
  EXPECT_TRUE((co_await f->close()).ok());
  Buffer b(8);
  absl::StatusOr<std::size_t> closed = co_await f->read_at(b, 0);
  EXPECT_EQ(error_info(closed.status())->error_number, EBADF);
  File never;
  EXPECT_EQ(error_info((co_await never.stat()).status())->error_number, EBADF);
  EXPECT_EQ(error_info(co_await never.sync())->error_number, EBADF);

  // An invalid descriptor number reaches the kernel and comes back as EBADF.
  EXPECT_EQ(File::adopt(-1).status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<File> bogus = File::adopt(19'999);
  EXPECT_TRUE(bogus.ok());
  absl::StatusOr<std::size_t> rb = co_await bogus->read_at(b, 0);
  EXPECT_EQ(error_info(rb.status())->error_number, EBADF);
  EXPECT_EQ(b.capacity(), 8u);
  absl::Status cb = co_await bogus->close();
  EXPECT_EQ(error_info(cb)->error_number, EBADF);
}

TEST(File, BadInputGetsAClearError) {
  TempPath p("bad");
  testing::write_sync(p.str(), "content");
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on(bad_input(p.str()));
  }
  EXPECT_EQ(settle_fds(before), before);
}

// An open in a task of its own: executor::timeout cancels it by destroying the task's frame
// (an open op given to executor::timeout directly would get a deadline instead).
Task<absl::StatusOr<File>> open_once(std::string path) {
  co_return co_await File::open_read(std::move(path));
}

Task<int> open_with_tiny_timeouts(std::string path, int rounds) {
  int opened = 0;
  for (int i = 0; i < rounds; ++i) {
    // The child task is cancelled at an arbitrary point: before, during or after the open.
    auto r = co_await executor::timeout(std::chrono::microseconds(i % 50), open_once(path));
    if (r.ok() && r->ok()) ++opened;
    // A per-operation deadline racing the open.
    auto t = co_await File::open_read(path).timeout(std::chrono::microseconds(i % 7));
    if (t.ok()) ++opened;
  }
  co_return opened;
}

TEST(File, CancelledOpensNeverLeakDescriptors) {
  TempPath p("cancel");
  testing::write_sync(p.str(), "x");
  int before = open_fds();
  {
    Runtime rt({.workers = 2});
    rt.block_on(open_with_tiny_timeouts(p.str(), 300));
  }
  EXPECT_EQ(settle_fds(before), before);
}

Task<void> read_with_timeout(std::string path) {
  absl::StatusOr<File> f = co_await File::open_read(path);
  Buffer b(100);
  absl::StatusOr<std::size_t> n = co_await f->read_at(b, 0).timeout(5s);
  EXPECT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(b.view(), "content");
}

TEST(File, TimeoutThatDoesNotFire) {
  TempPath p("to");
  testing::write_sync(p.str(), "content");
  Runtime rt({.workers = 2});
  rt.block_on(read_with_timeout(p.str()));
}

Task<void> destroy_file_on_worker(std::string path, int n) {
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<File> f = co_await File::open_read(path);
    EXPECT_TRUE(f.ok());
  }  // each File closes asynchronously here
}

TEST(File, DestroyedFilesCloseAsynchronously) {
  TempPath p("dtor");
  testing::write_sync(p.str(), "x");
  Runtime rt({.workers = 2});
  int before = open_fds();
  rt.block_on(destroy_file_on_worker(p.str(), 500));
  EXPECT_EQ(settle_fds(before), before);
}

// Offsets above INT64_MAX are EINVAL for every positional operation: the kernel would take
// 2^64-1 (-1 as off_t) as "the current position" and read/write at the start of the file.
Task<void> huge_offsets(std::string path) {
  absl::StatusOr<File> f = co_await File::open(path, O_RDWR);
  EXPECT_TRUE(f.ok()) << f.status();
  for (std::uint64_t off : {std::uint64_t{1} << 63, ~std::uint64_t{1}, ~std::uint64_t{0}}) {
    Buffer data = Buffer::copy_of("CLOBBERED!!!");
    absl::StatusOr<std::size_t> w = co_await f->write_at(data, off);
    EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument) << off;
    EXPECT_EQ(error_info(w.status())->error_number, EINVAL);
    EXPECT_EQ(data.view(), "CLOBBERED!!!");
    Buffer in(16);
    EXPECT_EQ((co_await f->read_at(in, off)).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(in.size(), 0u);
    Buffer vin[1] = {Buffer(16)};
    EXPECT_EQ((co_await f->readv_at(vin, off)).status().code(), absl::StatusCode::kInvalidArgument);
    Buffer vout[1] = {Buffer::copy_of("CLOBBERED!!!")};
    EXPECT_EQ((co_await f->writev_at(vout, off)).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ((co_await f->write_all_at(data, off)).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ((co_await f->read_all_at(in, off)).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  // INT64_MAX itself reaches the kernel (which refuses to write there: EFBIG or EINVAL).
  Buffer in(16);
  absl::StatusOr<std::size_t> r = co_await f->read_at(in, INT64_MAX);
  EXPECT_TRUE(!r.ok() || *r == 0) << r.status();
  absl::StatusOr<Buffer> all = co_await read_file(path);
  EXPECT_TRUE(all.ok());
  EXPECT_EQ(all->view(), "original content");  // nothing was overwritten
}

TEST(File, OffsetsAboveInt64MaxAreInvalid) {
  TempPath p("off");
  testing::write_sync(p.str(), "original content");
  Runtime rt({.workers = 2});
  rt.block_on(huge_offsets(p.str()));
}

// Reads and writes at the current position on a pipe: a read waits for data, honours
// .timeout() and cancellation (a read cancelled while waiting takes nothing), sees end of file;
// a write to a full pipe waits for room. On both backends (the epoll fallback waits by readiness).
Task<void> pipe_io(int rfd, int wfd) {
  absl::StatusOr<File> r = File::adopt(rfd);
  absl::StatusOr<File> w = File::adopt(wfd);
  EXPECT_TRUE(r.ok() && w.ok());
  Buffer in(64);
  auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<std::size_t> n = co_await r->read(in).timeout(100ms);
  EXPECT_EQ(n.status().code(), absl::StatusCode::kDeadlineExceeded) << n.status();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 90ms);
  Buffer lost(64);  // stays with the cancelled operation (see operation.hpp)
  auto timed = co_await executor::timeout(20ms, r->read(lost));
  EXPECT_FALSE(timed.ok());  // the read was cancelled while waiting
  Buffer out = Buffer::copy_of("hello");
  n = co_await w->write(out);
  EXPECT_TRUE(n.ok()) << n.status();
  n = co_await r->read(in).timeout(5s);  // the cancelled reads took nothing
  EXPECT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(in.view(), "hello");
  // A full pipe: a write waits for room (and times out while there is none).
  std::string big(1 << 20, 'x');
  std::size_t written = 0;
  for (;;) {
    Buffer chunk = Buffer::copy_of(big);
    absl::StatusOr<std::size_t> k = co_await w->write(chunk).timeout(100ms);
    if (!k.ok()) {
      EXPECT_EQ(k.status().code(), absl::StatusCode::kDeadlineExceeded) << k.status();
      break;
    }
    written += *k;
  }
  EXPECT_GT(written, 0u);
  EXPECT_TRUE((co_await w->close()).ok());
  std::size_t drained = 0;
  for (;;) {
    Buffer chunk(1 << 16);
    absl::StatusOr<std::size_t> k = co_await r->read(chunk).timeout(5s);
    EXPECT_TRUE(k.ok()) << k.status();
    if (!k.ok() || *k == 0) break;  // end of file once the writer is closed
    drained += *k;
  }
  EXPECT_EQ(drained, written);
}

template <class D>
Task<bool> read_never_expires(File& f, D d) {
  Buffer in(16);
  auto outer = co_await executor::timeout(30ms, f.read(in).timeout(d));
  co_return outer.status().code() == absl::StatusCode::kDeadlineExceeded;
}

// .timeout() with durations too large to add to now never expires (an outer deadline ends the
// read); a .deadline() in the past (the epoch, time_point::min()) expires at once.
Task<void> pipe_deadline_extremes(int rfd, int wfd) {
  absl::StatusOr<File> r = File::adopt(rfd);
  absl::StatusOr<File> w = File::adopt(wfd);
  EXPECT_TRUE(co_await read_never_expires(*r, std::chrono::nanoseconds::max()));
  EXPECT_TRUE(co_await read_never_expires(*r, std::chrono::seconds::max()));
  EXPECT_TRUE(co_await read_never_expires(*r, std::chrono::hours::max()));
  for (auto t :
       {std::chrono::steady_clock::time_point{}, std::chrono::steady_clock::time_point::min(),
        std::chrono::steady_clock::now() - 1s}) {
    Buffer in(16);
    // timeout() on an operation keeps the earlier of the two deadlines: the past one, at once.
    auto start = std::chrono::steady_clock::now();
    auto read = co_await executor::timeout(5s, r->read(in).deadline(t));
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDeadlineExceeded) << read.status();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s)
        << "the read's own past deadline must have ended it, not the 5 s timeout";
  }
  (void)w;
}

TEST(File, PipeReadDeadlineExtremes) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  Runtime rt({.workers = 2});
  rt.block_on(pipe_deadline_extremes(p[0], p[1]));
}

TEST(File, PipeReadsAndWritesWaitAndHonourTimeouts) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  Runtime rt({.workers = 2});
  rt.block_on(pipe_io(p[0], p[1]));
}

}  // namespace
}  // namespace executor::io
