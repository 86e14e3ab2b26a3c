# Every test program of the project, one line each, grouped as include/typenet is.
typenet_test(core/test_vector_math)
typenet_test(net/test_network)
typenet_test(kernels/test_winograd)
typenet_test(layers/test_layers)
typenet_test(layers/test_gradients)
typenet_test(engine/test_engine)
typenet_test(learn/test_backprop)
typenet_test(data/test_data)
typenet_test(data/test_augment)
typenet_test(io/test_io PkgConfig::stb)  # stb_image reads back the PNGs
typenet_test(run/test_trainer)
# Rules and shape errors that must stop compilation, each naming the rule, the layer and the
# numbers (`...`: the layer's default arguments, which GCC writes out and clang leaves out).
typenet_compile_fail(over_budget net/compile_fail.cpp CASE_OVER_BUDGET "20001 < 20000")
typenet_compile_fail(budget_rule net/compile_fail.cpp CASE_BUDGET_RULE
  "typenet::error<typenet::parameter_count_over_budget, typenet::parameter_count_is<20001>, typenet::budget<20000>>")
typenet_compile_fail(kernel_larger_than_input net/compile_fail.cpp CASE_KERNEL_LARGER_THAN_INPUT
  "typenet::error<typenet::kernel_larger_than_input, typenet::at_layer<2>, typenet::conv<8, 5...>, typenet::input_height<3>, typenet::input_width<3>, typenet::padding_is<0>, typenet::kernel_size<5>>")
typenet_compile_fail(pool_does_not_divide net/compile_fail.cpp CASE_POOL_DOES_NOT_DIVIDE
  "typenet::error<typenet::pool_window_does_not_divide_input, typenet::at_layer<1>, typenet::max_pool<2>, typenet::input_height<25>, typenet::input_width<25>, typenet::window<2>, typenet::window<2>>")
typenet_compile_fail(dense_on_a_map net/compile_fail.cpp CASE_DENSE_ON_A_MAP
  "typenet::error<typenet::needs_flat_input_add_flatten_or_global_avg_pool, typenet::at_layer<1>, typenet::dense<10...>, typenet::input_channels<16>, typenet::input_height<26>, typenet::input_width<26>>")
typenet_compile_fail(receptive_field net/compile_fail.cpp CASE_RECEPTIVE_FIELD
  "typenet::error<typenet::receptive_field_does_not_cover_input, typenet::at_layer<4>, typenet::conv<10, 1...>, typenet::receptive_field_is<5>, typenet::at_least<28>>")
typenet_compile_fail(max_pool_near_output net/compile_fail.cpp CASE_MAX_POOL_NEAR_OUTPUT
  "typenet::error<typenet::max_pool_too_close_to_output, typenet::at_layer<2>, typenet::max_pool<2>, typenet::layers_from_output<4>, typenet::at_least<5>>")
typenet_compile_fail(batch_norm_before_output net/compile_fail.cpp CASE_BATCH_NORM_BEFORE_OUTPUT
  "typenet::error<typenet::batch_norm_directly_before_output, typenet::at_layer<2>, typenet::batch_norm, typenet::layers_from_output<3>>")
# The installed package, used by a project outside the tree (tests/consumer).
add_test(NAME package_consumer COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${PROJECT_BINARY_DIR}
  -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/consumer -DCXX=${CMAKE_CXX_COMPILER}
  "-DCXX_FLAGS=${CMAKE_CXX_FLAGS}"
  -P ${PROJECT_SOURCE_DIR}/cmake/consumer_test.cmake)
# The scripts: every system header the build includes comes from a package scripts/setup
# installs; scripts/download-mnist against a server on 127.0.0.1.
add_test(NAME check_packages COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/check-packages ${PROJECT_BINARY_DIR})
add_test(NAME download_mnist COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scripts/test_download_mnist.sh)
# benchmarks/compile_scaling still compiles (its network of one block): a header it names can move.
add_test(NAME compile_scaling_compiles COMMAND bash ${PROJECT_SOURCE_DIR}/benchmarks/compile_scaling 1)
# The trainer as a program: killed at random moments, starved of disk, given read-only
# directories, diverging, and fed broken checkpoints (a tiny network, so each run takes seconds).
typenet_add_trainer(fault_trainer HEADER run/fault_net.hpp NETWORK tests::fault_net)
typenet_test(run/test_faults)
target_compile_definitions(test_faults PRIVATE TYPENET_FAULT_TRAINER="$<TARGET_FILE:fault_trainer>")
add_dependencies(test_faults fault_trainer)
# ONNX export against outside references: export_onnx_models trains three small MNIST networks
# briefly (every layer kind between them) and exports them with their outputs on the test set;
# check_onnx.py passes each file through onnx.checker and runs it in OpenCV's DNN module, which
# must predict typenet's class on every test image.
add_executable(export_onnx_models run/export_onnx_models.cpp)
target_link_libraries(export_onnx_models PRIVATE typenet::run)
target_compile_definitions(export_onnx_models PRIVATE TYPENET_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/data/mnist")
add_test(NAME onnx_export COMMAND export_onnx_models ${CMAKE_CURRENT_BINARY_DIR}/onnx)
# Debian's interpreter, which python3-onnx and python3-opencv are for (another python3 may come first in PATH).
find_program(TYPENET_DEBIAN_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH REQUIRED)
add_test(NAME onnx_in_opencv COMMAND ${TYPENET_DEBIAN_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/run/check_onnx.py
  ${CMAKE_CURRENT_BINARY_DIR}/onnx ${PROJECT_SOURCE_DIR}/data/mnist conv_net dense_net dense_softmax_net)
set_tests_properties(onnx_export PROPERTIES FIXTURES_SETUP onnx_models)
set_tests_properties(onnx_in_opencv PROPERTIES FIXTURES_REQUIRED onnx_models)
# Classifying image files with --predict and predictor<Net>, against evaluation of the same checkpoint.
typenet_test(run/test_predict PkgConfig::stb)
target_compile_definitions(test_predict PRIVATE TYPENET_FAULT_TRAINER="$<TARGET_FILE:fault_trainer>")
add_dependencies(test_predict fault_trainer)
# PyTorch both ways, with Debian's python3-torch (for Debian's python3, as above):
# torch_net trained briefly, its model.safetensors loaded by the equivalent nn.Sequential, and a
# state_dict PyTorch wrote evaluated (torch_outputs, --evaluate) and fine-tuned (--init-from).
typenet_add_trainer(torch_trainer HEADER run/torch_net.hpp NETWORK tests::torch_net)
add_executable(torch_outputs run/torch_outputs.cpp)
target_link_libraries(torch_outputs PRIVATE typenet::run)
add_test(NAME torch_both_ways COMMAND ${TYPENET_DEBIAN_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/run/test_torch.py
  $<TARGET_FILE:torch_trainer> $<TARGET_FILE:torch_outputs> ${PROJECT_SOURCE_DIR}/data/mnist
  ${CMAKE_CURRENT_BINARY_DIR}/torch_both_ways)
# Data-parallel training under mpirun (a build with TYPENET_MPI): 2 and 4 processes against one,
# bit for bit, resumed with another number of processes, and a killed rank. Under the sanitizers,
# LeakSanitizer's suppressions name what Open MPI's libraries keep until exit (their allocations,
# not typenet's); they match only with the slow unwinder, as those libraries keep no frame pointers.
if(TYPENET_MPI)
  typenet_test(run/test_mpi)
  target_compile_definitions(test_mpi PRIVATE TYPENET_MPIEXEC="${MPIEXEC_EXECUTABLE}"
    TYPENET_FAULT_TRAINER="$<TARGET_FILE:fault_trainer>" TYPENET_TORCH_TRAINER="$<TARGET_FILE:torch_trainer>")
  add_dependencies(test_mpi fault_trainer torch_trainer)
  # Two hosts as network namespaces with a veth pair, over TCP (root only; skipped elsewhere).
  add_test(NAME mpi_two_hosts COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/run/test_two_hosts.sh ${MPIEXEC_EXECUTABLE}
    $<TARGET_FILE:fault_trainer> ${PROJECT_SOURCE_DIR}/data/mnist ${CMAKE_CURRENT_BINARY_DIR}/two_hosts
    ${TYPENET_DEBIAN_PYTHON})
  # scripts/sweep: two trainings as one mpirun job, and the table of their logs.
  add_test(NAME sweep_script COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scripts/test_sweep.sh $<TARGET_FILE:fault_trainer>
    ${PROJECT_SOURCE_DIR}/data/mnist ${CMAKE_CURRENT_BINARY_DIR}/sweep)
  set_tests_properties(test_mpi mpi_two_hosts sweep_script PROPERTIES
    ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/run/open_mpi.supp:fast_unwind_on_malloc=0")
  set_tests_properties(mpi_two_hosts PROPERTIES SKIP_RETURN_CODE 77)
endif()
