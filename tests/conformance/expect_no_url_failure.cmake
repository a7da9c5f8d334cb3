# Checks that the conformance executable fails loudly, never skips or passes, when it
# is given no backend: no URL at all, or a URL file that does not exist.
#   cmake -D EXE=<offkv_conformance> -P expect_no_url_failure.cmake
if(NOT EXE)
  message(FATAL_ERROR "usage: cmake -D EXE=<offkv_conformance> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()

function(expect_failure what expected_text)
  execute_process(COMMAND "${EXE}" "[nodes]"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "${what}: the suite exited 0\n${out}${err}")
  endif()
  if(NOT out MATCHES "${expected_text}")
    message(FATAL_ERROR "${what}: no '${expected_text}' in the output\n${out}${err}")
  endif()
  if(out MATCHES "[0-9]+ passed")
    message(FATAL_ERROR "${what}: some cases passed without a backend\n${out}")
  endif()
  if(NOT out MATCHES "test cases: *[0-9]+ *\\| *[0-9]+ failed")
    message(FATAL_ERROR "${what}: expected every case to fail\n${out}")
  endif()
  message(STATUS "${what}: every case failed, as it must")
endfunction()

set(ENV{OFFKV_TEST_URL} "")
set(ENV{OFFKV_TEST_URL_FILE} "")
expect_failure("no URL" "OFFKV_TEST_URL")
set(ENV{OFFKV_TEST_URL_FILE} "${CMAKE_CURRENT_BINARY_DIR}/no-such-dir/url")
expect_failure("missing URL file" "cannot be read")
