# cmake -DDEMO=path/to/offkv-demo -P check_demo.cmake
# The demo must exit 0, print nothing on stderr, and print these lines in this order.
execute_process(COMMAND ${DEMO} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err TIMEOUT 30)
if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
  message(FATAL_ERROR "offkv-demo exited with '${rc}'\nstdout:\n${out}\nstderr:\n${err}")
endif()

set(expected
  "B asks whether /config exists: version 0 means no. B leaves a watch on it."
  "B lists /members: (no children)"
  "A creates /config = \"color=red\"."
  "B sees: CREATED /config version=1"
  "B reads /config = \"color=red\" at version 1 and leaves a watch on its value."
  "A sets /config = \"color=blue\": now version 2."
  "B sees: CHANGED /config version=2"
  "The library names it /members/m-0000000000 (10 digits from a counter per parent)."
  "B sees: CHILDREN /members version=-1"
  "B lists /members: /members/m-0000000000"
  "  OFFKV_EVERSION (version mismatch): cas on '/config': expected version 1, found version 2"
  "A tries cas /config expecting version 2: ok, now version 3."
  "  OFFKV_ETXN: item 2 failed with OFFKV_EEXIST (checks count first, then ops): '/config' already exists"
  "  Nothing was applied: /config is still at version 3."
  "  op 0: /config now at version 4"
  "  op 1: /jobs now at version 1"
  "B sees: DELETED /members/m-0000000000 version=0"
  "B sees: CHILDREN /members version=-1"
  "B lists /members: (no children)"
  "Done.")

set(rest "${out}")
foreach(line IN LISTS expected)
  string(FIND "${rest}" "${line}\n" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "missing (or out of order): '${line}'\nstdout:\n${out}")
  endif()
  string(LENGTH "${line}\n" len)
  math(EXPR next "${at} + ${len}")
  string(SUBSTRING "${rest}" ${next} -1 rest)
endforeach()
list(LENGTH expected count)
message(STATUS "offkv-demo: exit 0, all ${count} key lines found in order")
