# typenet_add_trainer(<name> HEADER <file> NETWORK <type> [RECIPE <expression>] [CHECKPOINT_DIR <dir>])
#
# Builds a trainer program for a network declared in a user's header: the
# header is included and `typenet::trainer_main<NETWORK>(argc, argv, RECIPE, DIR)` becomes
# main(); RECIPE is an expression giving the typenet::recipe to start from, and
# CHECKPOINT_DIR the default of --checkpoint-dir (runs/<name>). The program links
# typenet::run, so it compiles only the network's engine, in three units that build in
# parallel: the forward pass, the backward pass, and the rest. The headers they share
# (engine, oneTBB, Boost.Hana, the run library's interface) are precompiled once for all
# the trainers of a project, which takes a third off each unit's compile time; a trainer
# whose compile options differ from the first trainer's must set TYPENET_TRAINER_PCH OFF.
option(TYPENET_TRAINER_PCH "Precompile the headers that typenet_add_trainer's units share" ON)
find_package(CLI11 REQUIRED)
set(TYPENET_TRAINER_TEMPLATE ${CMAKE_CURRENT_LIST_DIR}/trainer_main.cpp.in)
set(TYPENET_TRAINER_PASS_TEMPLATE ${CMAKE_CURRENT_LIST_DIR}/trainer_pass.cpp.in)

function(typenet_add_trainer name)
  cmake_parse_arguments(arg "" "HEADER;NETWORK;RECIPE;CHECKPOINT_DIR" "" ${ARGN})
  if(NOT arg_HEADER OR NOT arg_NETWORK)
    message(FATAL_ERROR "typenet_add_trainer(${name}): HEADER and NETWORK are required")
  endif()
  get_filename_component(TYPENET_HEADER "${arg_HEADER}" ABSOLUTE)
  set(TYPENET_NETWORK "${arg_NETWORK}")
  if(arg_RECIPE)
    set(TYPENET_RECIPE "${arg_RECIPE}")
  else()
    set(TYPENET_RECIPE "typenet::recipe{}")
  endif()
  if(arg_CHECKPOINT_DIR)
    set(TYPENET_CHECKPOINT_DIR "${arg_CHECKPOINT_DIR}")
  else()
    set(TYPENET_CHECKPOINT_DIR "runs/${name}")
  endif()
  set(TYPENET_NAME ${name})
  set(sources ${CMAKE_CURRENT_BINARY_DIR}/${name}_trainer_main.cpp)
  configure_file(${TYPENET_TRAINER_TEMPLATE} ${sources} @ONLY)
  foreach(pass "forward;run_forward(typenet::mode, std::uint64_t)" "backward;run_backward(std::uint64_t)")
    list(GET pass 0 pass_name)
    list(GET pass 1 TYPENET_PASS)
    configure_file(${TYPENET_TRAINER_PASS_TEMPLATE} ${CMAKE_CURRENT_BINARY_DIR}/${name}_${pass_name}.cpp @ONLY)
    list(APPEND sources ${CMAKE_CURRENT_BINARY_DIR}/${name}_${pass_name}.cpp)
  endforeach()
  # The backward pass, the longest unit, first: make starts the units in this order.
  list(REVERSE sources)
  add_executable(${name} ${sources})
  target_link_libraries(${name} PRIVATE typenet::run)
  if(TYPENET_TRAINER_PCH)
    if(NOT TARGET typenet_trainer_pch)
      file(WRITE ${CMAKE_BINARY_DIR}/typenet_trainer_pch.cpp "// the precompiled headers of typenet's trainers\n")
      add_library(typenet_trainer_pch OBJECT ${CMAKE_BINARY_DIR}/typenet_trainer_pch.cpp)
      target_link_libraries(typenet_trainer_pch PRIVATE typenet::run)
      target_precompile_headers(typenet_trainer_pch PRIVATE <typenet/engine/model.hpp> <typenet/trainer_main.hpp>)
    endif()
    target_precompile_headers(${name} REUSE_FROM typenet_trainer_pch)
  endif()
endfunction()
