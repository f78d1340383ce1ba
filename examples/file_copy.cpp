// Copies a file with several reads and writes in flight.
//
//   file_copy SOURCE DEST [CHUNK_KIB=256] [IN_FLIGHT=4]
//
// The file is cut into chunks; IN_FLIGHT tasks each copy every IN_FLIGHT-th chunk (read, then
// write at the same offset), so that many transfers are in the kernel at once. DEST is created
// (or truncated) with SOURCE's permission bits and synced before the program reports success.
// Exit status: 0 on success, 1 on an I/O error (with the error on stderr), 2 on bad usage.
#include <fcntl.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <executor/executor.hpp>
#include <executor/io/io.hpp>

using namespace executor;

namespace {

Task<absl::Status> copy_stripe(io::File* in, io::File* out, std::uint64_t size, std::size_t chunk,
                               unsigned stripe, unsigned stripes) {
  io::Buffer buf(chunk);
  for (std::uint64_t off = std::uint64_t{stripe} * chunk; off < size;
       off += std::uint64_t{stripes} * chunk) {
    buf.clear();
    absl::StatusOr<std::size_t> n = co_await in->read_all_at(buf, off);
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;  // the source shrank meanwhile
    absl::Status w = co_await out->write_all_at(buf, off);
    if (!w.ok()) co_return w;
  }
  co_return absl::OkStatus();
}

Task<absl::Status> copy(std::string from, std::string to, std::size_t chunk, unsigned in_flight) {
  absl::StatusOr<io::File> in = co_await io::File::open_read(from);
  if (!in.ok()) co_return in.status();
  absl::StatusOr<io::FileStat> st = co_await in->stat();
  if (!st.ok()) co_return st.status();
  absl::StatusOr<io::File> out =
      co_await io::File::open(to, O_WRONLY | O_CREAT | O_TRUNC, st->mode & 07777);
  if (!out.ok()) co_return out.status();
  std::vector<JoinHandle<absl::Status>> stripes;
  for (unsigned i = 0; i < in_flight; ++i) {
    stripes.push_back(spawn(copy_stripe, &*in, &*out, st->size, chunk, i, in_flight));
  }
  absl::Status result = absl::OkStatus();
  for (auto& s : stripes) {
    absl::Status r = co_await std::move(s);
    if (result.ok()) result = r;
  }
  if (!result.ok()) co_return result;
  absl::Status synced = co_await out->datasync();
  if (!synced.ok()) co_return synced;
  co_return co_await out->close();
}

Task<int> app(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: %s SOURCE DEST [CHUNK_KIB=256] [IN_FLIGHT=4]\n", argv[0]);
    co_return 2;
  }
  long chunk_kib = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 256;
  long in_flight = argc > 4 ? std::strtol(argv[4], nullptr, 10) : 4;
  if (chunk_kib <= 0 || chunk_kib > 65536 || in_flight <= 0 || in_flight > 1024) {
    std::fprintf(stderr, "file_copy: CHUNK_KIB must be 1..65536 and IN_FLIGHT 1..1024\n");
    co_return 2;
  }
  absl::Status s = co_await copy(argv[1], argv[2], static_cast<std::size_t>(chunk_kib) * 1024,
                                 static_cast<unsigned>(in_flight));
  if (!s.ok()) {
    std::fprintf(stderr, "file_copy: %s\n", s.ToString().c_str());
    co_return 1;
  }
  co_return 0;
}

}  // namespace

EXECUTOR_MAIN(app)
