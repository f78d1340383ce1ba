// Not a test image: the probe the ctest cortexm.heap_check builds to prove that the heap check
// fails an image which links malloc (resolvable here only because this probe supplies _sbrk,
// which no real image has) or defines a global operator new.
#include <cstddef>
#include <cstdlib>
#include <new>

extern "C" void* _sbrk(std::ptrdiff_t increment) {
  alignas(8) static char arena[1024];
  static std::size_t used = 0;
  void* p = arena + used;
  used += static_cast<std::size_t>(increment);
  return p;
}

__attribute__((noinline)) void* operator new(std::size_t size) {
  return std::malloc(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

int* volatile g_kept;  // keeps the compiler from eliding the new/delete pair

int main() {
  g_kept = new int(7);
  int v = *g_kept;
  delete g_kept;
  return v == 7 ? 0 : 1;
}
