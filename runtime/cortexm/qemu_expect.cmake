# Runs a firmware image under QEMU and checks how it ended: exit status EXPECT_STATUS and output
# (semihosting goes to QEMU's stderr) matching EXPECT_REGEX. For the death tests of the
# firmware, where a plain exit-status check cannot tell a clear error from any other failure.
#   cmake -DQEMU=... -DQEMU_ARGS="..." -DIMAGE=x.elf -DAPPEND=mode -DEXPECT_STATUS=3
#         -DEXPECT_REGEX=... -P qemu_expect.cmake
separate_arguments(args UNIX_COMMAND "${QEMU_ARGS}")
execute_process(COMMAND ${QEMU} ${args} -kernel ${IMAGE} -append "${APPEND}"
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 15)
set(all "${out}${err}")
message("${all}")
if(NOT status STREQUAL EXPECT_STATUS)
  message(FATAL_ERROR "exit status ${status}, expected ${EXPECT_STATUS}")
endif()
if(NOT all MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "output does not match: ${EXPECT_REGEX}")
endif()
