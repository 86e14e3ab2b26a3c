# Run by CTest: installs this build into a fresh prefix, builds tests/consumer
# against it with find_package(typenet), and trains the consumer's network briefly.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DCXX=... -DCXX_FLAGS=... -P consumer_test.cmake
# The consumer is built with this build's compiler and flags: the installed run library is
# compiled code, and one built with sanitizers needs their runtimes where it is linked.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
endfunction()
file(MAKE_DIRECTORY ${WORK_DIR})
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_CXX_COMPILER=${CXX} "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
# The trainer finds the MNIST copy installed with the package, with no --data.
run(${WORK_DIR}/build/tiny_trainer --threads 2)
if(NOT EXISTS ${WORK_DIR}/runs/tiny/last.safetensors)
  message(FATAL_ERROR "the consumer's trainer wrote no checkpoint")
endif()
