# Fails (FATAL_ERROR, so the build fails) if the firmware image ELF links a heap: malloc and
# friends, newlib's _sbrk, or any operator new / new[]. Run as a POST_BUILD step of every image:
#   cmake -DNM=arm-none-eabi-nm -DELF=image.elf -P check_no_heap.cmake
if(NOT NM OR NOT ELF)
  message(FATAL_ERROR "usage: cmake -DNM=<nm> -DELF=<image> -P check_no_heap.cmake")
endif()
execute_process(COMMAND ${NM} ${ELF} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "heap check: ${NM} failed on ${ELF}")
endif()
# nm lines: "<address> <type> <name>". operator new is _Znwj/_Znaj (+ nothrow/align variants)
# on 32-bit targets, _Znwm/_Znam on 64-bit ones.
string(REGEX MATCHALL
  "[ \t](malloc|_malloc_r|calloc|_calloc_r|realloc|_realloc_r|memalign|_memalign_r|_sbrk|_sbrk_r|_Zna?w[jm][A-Za-z0-9_]*)\n"
  found "${symbols}\n")
if(found)
  list(TRANSFORM found STRIP)
  list(REMOVE_DUPLICATES found)
  list(JOIN found ", " names)
  # NOTICE prints the line unwrapped (ctest cortexm.heap_check matches it); then fail.
  message(NOTICE "heap check: ${ELF} links ${names}: firmware images must not use a heap")
  message(FATAL_ERROR "heap check failed")
endif()
