# Every test program of the project, one line each.
typenet_test(test_data)
typenet_test(test_augment)
typenet_test(test_gradients)
typenet_test(test_io)
typenet_test(test_network)
# Rules and shape errors that must stop compilation, each with the numbers in its message.
typenet_compile_fail(over_budget compile_fail.cpp CASE_OVER_BUDGET "comparison reduces to [^(]*\\(20001 < 20000\\)")
typenet_compile_fail(budget_rule compile_fail.cpp CASE_BUDGET_RULE
  "error<typenet::parameter_count_over_budget, typenet::parameter_count_is<20001>, typenet::budget<20000> >")
typenet_compile_fail(kernel_larger_than_input compile_fail.cpp CASE_KERNEL_LARGER_THAN_INPUT
  "error<typenet::kernel_larger_than_input, typenet::at_layer<2>, typenet::conv<8, 5, 1, 0, typenet::bias::off>, typenet::input_height<3>, typenet::input_width<3>, typenet::padding_is<0>, typenet::kernel_size<5> >")
typenet_compile_fail(pool_does_not_divide compile_fail.cpp CASE_POOL_DOES_NOT_DIVIDE
  "error<typenet::pool_window_does_not_divide_input, typenet::at_layer<1>, typenet::max_pool<2>, typenet::input_height<25>")
typenet_compile_fail(dense_on_a_map compile_fail.cpp CASE_DENSE_ON_A_MAP
  "error<typenet::needs_flat_input_add_flatten_or_global_avg_pool, typenet::at_layer<1>, typenet::dense<10, typenet::bias::off>, typenet::input_channels<16>")
typenet_compile_fail(receptive_field compile_fail.cpp CASE_RECEPTIVE_FIELD
  "error<typenet::receptive_field_does_not_cover_input, typenet::at_layer<4>, typenet::conv<10, 1, 1, 0, typenet::bias::off>, typenet::receptive_field_is<5>, typenet::at_least<28> >")
typenet_compile_fail(max_pool_near_output compile_fail.cpp CASE_MAX_POOL_NEAR_OUTPUT
  "error<typenet::max_pool_too_close_to_output, typenet::at_layer<2>, typenet::max_pool<2>, typenet::layers_from_output<4>")
typenet_compile_fail(batch_norm_before_output compile_fail.cpp CASE_BATCH_NORM_BEFORE_OUTPUT
  "error<typenet::batch_norm_directly_before_output, typenet::at_layer<2>, typenet::batch_norm")
typenet_test(test_backprop)
typenet_test(test_engine)
typenet_test(test_trainer)
# The trainer as a program: killed at random moments, starved of disk, given read-only
# directories, diverging, and fed broken checkpoints (a tiny network, so each run takes seconds).
typenet_add_trainer(fault_trainer HEADER fault_net.hpp NETWORK tests::fault_net)
typenet_test(test_faults)
target_compile_definitions(test_faults PRIVATE TYPENET_FAULT_TRAINER="$<TARGET_FILE:fault_trainer>")
add_dependencies(test_faults fault_trainer)
