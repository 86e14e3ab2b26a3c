# typenet_add_trainer(<name> HEADER <file> NETWORK <type> [RECIPE <expression>])
#
# Builds a trainer program for a network declared in a user's header: the
# header is included and `typenet::trainer_main<NETWORK>(argc, argv, RECIPE)` becomes
# main(); RECIPE is an expression giving the typenet::training_options to start from.
find_package(CLI11 REQUIRED)
set(TYPENET_TRAINER_TEMPLATE ${CMAKE_CURRENT_LIST_DIR}/trainer_main.cpp.in)

function(typenet_add_trainer name)
  cmake_parse_arguments(arg "" "HEADER;NETWORK;RECIPE" "" ${ARGN})
  if(NOT arg_HEADER OR NOT arg_NETWORK)
    message(FATAL_ERROR "typenet_add_trainer(${name}): HEADER and NETWORK are required")
  endif()
  get_filename_component(TYPENET_HEADER "${arg_HEADER}" ABSOLUTE)
  set(TYPENET_NETWORK "${arg_NETWORK}")
  if(arg_RECIPE)
    set(TYPENET_RECIPE "${arg_RECIPE}")
  else()
    set(TYPENET_RECIPE "typenet::training_options{}")
  endif()
  set(source ${CMAKE_CURRENT_BINARY_DIR}/${name}_trainer_main.cpp)
  configure_file(${TYPENET_TRAINER_TEMPLATE} ${source} @ONLY)
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE typenet::run)
endfunction()
