// executor::io::Buffer: an owned, fixed-capacity byte buffer that I/O operations borrow.
//
// Every read-like operation (File::read_at, TcpStream::recv, UdpSocket::recv_from, ...) takes a
// `Buffer&`, moves its storage into the operation for as long as the kernel may write into it,
// and moves it back when the operation completes. That is what makes cancellation safe: if the
// awaiting coroutine is destroyed mid-operation, the storage stays with the operation until
// the kernel is done with it and is freed then; the Buffer object you passed is left empty.
//
//   size()      bytes of data, [data(), data() + size())
//   capacity()  bytes of storage; reads append into the spare room [size(), capacity())
//   writes send [data(), data() + size())
//
// Thread safety: like std::vector (one owner at a time). Memory: one allocation, at
// construction; the storage is uninitialised until written.
//
// Example:
//   io::Buffer buf(4096);
//   auto n = co_await stream.recv(buf);   // appends up to 4096 bytes; buf.size() == *n
//   buf.clear();                           // size 0 again, same storage
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace executor::io {

class Buffer {
 public:
  Buffer() noexcept = default;
  // Uninitialised storage of `capacity` bytes, size 0. Throws std::bad_alloc.
  explicit Buffer(std::size_t capacity)
      : data_(capacity != 0 ? std::make_unique_for_overwrite<std::byte[]>(capacity) : nullptr),
        capacity_(capacity) {}
  Buffer(Buffer&& o) noexcept
      : data_(std::move(o.data_)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    data_ = std::move(o.data_);
    size_ = std::exchange(o.size_, 0);
    capacity_ = std::exchange(o.capacity_, 0);
    return *this;
  }

  // A buffer holding a copy of `bytes` (capacity == size).
  static Buffer copy_of(std::span<const std::byte> bytes) {
    Buffer b(bytes.size());
    if (!bytes.empty()) std::memcpy(b.data(), bytes.data(), bytes.size());
    b.size_ = bytes.size();
    return b;
  }
  static Buffer copy_of(std::string_view s) { return copy_of(std::as_bytes(std::span(s))); }

  std::byte* data() noexcept { return data_.get(); }
  const std::byte* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t spare() const noexcept { return capacity_ - size_; }
  bool empty() const noexcept { return size_ == 0; }

  std::span<std::byte> bytes() noexcept { return {data(), size_}; }
  std::span<const std::byte> bytes() const noexcept { return {data(), size_}; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data()), size_}; }

  void clear() noexcept { size_ = 0; }
  // Sets the data length (e.g. after filling data() yourself). Throws std::length_error if
  // n > capacity().
  void resize(std::size_t n) {
    if (n > capacity_) throw std::length_error("executor::io::Buffer::resize beyond capacity");
    size_ = n;
  }
  // Appends a copy of `s`. Throws std::length_error if it does not fit in spare().
  void append(std::string_view s) {
    if (s.size() > spare()) throw std::length_error("executor::io::Buffer::append beyond capacity");
    if (!s.empty()) std::memcpy(data() + size_, s.data(), s.size());
    size_ += s.size();
  }

 private:
  std::unique_ptr<std::byte[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace executor::io
