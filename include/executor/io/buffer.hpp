// executor::io::Buffer: an owned, fixed-capacity byte buffer that I/O operations borrow.
//
// Every read-like operation (File::read_at, TcpStream::recv, UdpSocket::recv_from, ...) takes a
// `Buffer&`, moves its storage into the operation for as long as the kernel may write into it,
// and moves it back when the operation completes. That is what makes cancellation safe: if the
// awaiting coroutine is destroyed mid-operation, the storage stays with the operation until
// the kernel is done with it and is freed then; the Buffer object you passed is left empty.
//
// The storage is one array of capacity() bytes, split in three:
//
//   [ consumed | data: size() bytes | spare room: spare() bytes ]
//   ^storage    ^data()              ^data() + size()           ^storage + capacity()
//
//   size()      bytes of data, [data(), data() + size())
//   capacity()  bytes of storage; reads append into the spare room, writes send the data
//   consume(n)  drops n bytes from the front of the data (no copy: data() moves forward); a
//               parser takes what it understood and leaves the rest for the next read
//   compact()   moves the data to the front of the storage so the spare room is as large as it
//               can be (consumed() bytes, reclaimed); consume() does it for free when the data
//               becomes empty
//
// Thread safety: like std::vector (one owner at a time). Memory: one allocation, at
// construction; the storage is uninitialised until written.
// Errors: resize/append/commit/consume beyond what the buffer holds throw std::length_error.
//
// Example:
//   io::Buffer buf(4096);
//   auto n = co_await stream.recv(buf);   // appends up to 4096 bytes; buf.size() == *n
//   std::size_t used = parse(buf.bytes());  // a parser that took `used` bytes
//   buf.consume(used);                     // the rest stays, at data()
//   if (buf.spare() == 0) buf.compact();   // room for the next recv
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
        begin_(std::exchange(o.begin_, 0)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    data_ = std::move(o.data_);
    begin_ = std::exchange(o.begin_, 0);
    size_ = std::exchange(o.size_, 0);
    capacity_ = std::exchange(o.capacity_, 0);
    return *this;
  }
  friend void swap(Buffer& a, Buffer& b) noexcept {
    std::swap(a.data_, b.data_);
    std::swap(a.begin_, b.begin_);
    std::swap(a.size_, b.size_);
    std::swap(a.capacity_, b.capacity_);
  }

  // A buffer holding a copy of `bytes` (capacity == size).
  static Buffer copy_of(std::span<const std::byte> bytes) {
    Buffer b(bytes.size());
    if (!bytes.empty()) std::memcpy(b.data(), bytes.data(), bytes.size());
    b.size_ = bytes.size();
    return b;
  }
  static Buffer copy_of(std::string_view s) { return copy_of(std::as_bytes(std::span(s))); }

  std::byte* data() noexcept { return data_.get() + begin_; }
  const std::byte* data() const noexcept { return data_.get() + begin_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t spare() const noexcept { return capacity_ - begin_ - size_; }
  // Bytes consume()d from the front that compact() would give back to the spare room.
  std::size_t consumed() const noexcept { return begin_; }
  bool empty() const noexcept { return size_ == 0; }

  std::span<std::byte> bytes() noexcept { return {data(), size_}; }
  std::span<const std::byte> bytes() const noexcept { return {data(), size_}; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data()), size_}; }
  // The spare room, [data() + size(), storage end): fill it, then commit() what you wrote.
  std::span<std::byte> spare_room() noexcept { return {data() + size_, spare()}; }

  // Size 0, the whole storage spare again.
  void clear() noexcept { begin_ = size_ = 0; }
  // Sets the data length (e.g. after filling data() yourself). Throws std::length_error if
  // n > size() + spare().
  void resize(std::size_t n) {
    if (n > capacity_ - begin_) {
      throw std::length_error("executor::io::Buffer::resize beyond capacity");
    }
    size_ = n;
  }
  // Adds `n` bytes written into spare_room() to the data. Throws std::length_error if
  // n > spare().
  void commit(std::size_t n) {
    if (n > spare()) throw std::length_error("executor::io::Buffer::commit beyond capacity");
    size_ += n;
  }
  // Drops the first `n` bytes of the data. When the data becomes empty the whole storage is
  // spare again. Throws std::length_error if n > size().
  void consume(std::size_t n) {
    if (n > size_) throw std::length_error("executor::io::Buffer::consume beyond size");
    size_ -= n;
    begin_ = size_ == 0 ? 0 : begin_ + n;
  }
  // Moves the data to the front of the storage (one memmove of size() bytes if consumed() > 0):
  // afterwards spare() == capacity() - size().
  void compact() noexcept {
    if (begin_ == 0) return;
    if (size_ != 0) std::memmove(data_.get(), data_.get() + begin_, size_);
    begin_ = 0;
  }
  // Appends a copy of `s`. Throws std::length_error if it does not fit in spare().
  void append(std::span<const std::byte> s) {
    if (s.size() > spare()) throw std::length_error("executor::io::Buffer::append beyond capacity");
    if (!s.empty()) std::memcpy(data() + size_, s.data(), s.size());
    size_ += s.size();
  }
  void append(std::string_view s) { append(std::as_bytes(std::span(s))); }

 private:
  std::unique_ptr<std::byte[]> data_;
  std::size_t begin_ = 0;  // consumed bytes at the front of the storage
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace executor::io
