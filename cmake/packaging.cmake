# Debian packages from the install components (included by the top-level CMakeLists.txt):
#   libexecutor0     component runtime: libexecutor.so.0 and its real file; Depends from
#                    dpkg-shlibdeps (libc6, libstdc++6, libgcc-s1, libfmt9, libabsl, liburing2)
#   libexecutor-dev  component dev: headers, libexecutor.so, libexecutor.a, CMake package,
#                    executor.pc; Depends on libexecutor0 of the same version and on the -dev
#                    packages the headers (Abseil) and the static library (fmt, liburing) need
# `./tools/dev package` configures a library-only build with CMAKE_INSTALL_PREFIX=/usr (so the
# library directory is Debian's multiarch lib/<triplet>) and runs `cpack -G DEB` in it.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME executor)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "executor developers <executor@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libexecutor${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "C++20 async runtime on io_uring - shared library\n The executor runtime library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libexecutor-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libexecutor${PROJECT_VERSION_MAJOR} (= ${PROJECT_VERSION}-1), libabsl-dev, libfmt-dev, liburing-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "C++20 async runtime on io_uring - development files\n Headers, static library, CMake package and pkg-config file.")
include(CPack)
