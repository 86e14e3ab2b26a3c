# Run by CTest: compile SOURCE with -DDEFINE and require that it fails with
# output matching REGEX (so that it fails for the reason we expect).
execute_process(
  COMMAND ${CXX} -std=c++20 -fsyntax-only -I${INCLUDES} -D${DEFINE} ${SOURCE}
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(result EQUAL 0)
  message(FATAL_ERROR "compiled, but ${DEFINE} must not compile")
endif()
if(NOT all MATCHES "${REGEX}")
  message(FATAL_ERROR "failed to compile, but not with /${REGEX}/:\n${all}")
endif()
string(REGEX MATCH "[^\n]*${REGEX}[^\n]*" line "${all}")
message(STATUS "failed as expected: ${line}")
