# Run by CTest: builds TARGET (one case of tests/compile_fail.cpp) in BUILD_DIR and requires
# that it fails with EXPECTED in the compiler's output, so that it fails for the reason we
# expect. EXPECTED is plain text as clang prints it; GCC differs in two ways, both accepted:
# it spells out a layer's default arguments, which EXPECTED writes as `...`
# (conv<8, 5...> matches conv<8, 5> and conv<8, 5, 1, 0, typenet::bias::off>), and it
# closes nested templates with `> >` where clang writes `>>`.
set(build ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET})
if(CONFIG)
  list(APPEND build --config ${CONFIG})
endif()
execute_process(COMMAND ${build} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(result EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but must not compile")
endif()

string(REGEX REPLACE "([][\\^$.|?*+(){}])" "\\\\\\1" regex "${EXPECTED}")
string(REPLACE ">" " ?>" regex "${regex}")
string(REPLACE "\\.\\.\\." "[^<>]*" regex "${regex}")
if(NOT all MATCHES "${regex}")
  message(FATAL_ERROR "${TARGET} failed to compile, but without naming ${EXPECTED}:\n${all}")
endif()
string(REGEX MATCH "[^\n]*${regex}[^\n]*" line "${all}")
message(STATUS "failed as expected: ${line}")
