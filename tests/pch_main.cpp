// Anchor for the shared test precompiled header (tests/CMakeLists.txt).
#include <gtest/gtest.h>

TEST(PrecompiledHeader, Builds) {
  SUCCEED();
}
