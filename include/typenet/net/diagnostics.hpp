#pragma once
// How a wrong network is reported. C++20 static_assert messages are literals,
// so the facts of an error travel in a type's name instead, which both compilers
// print as the class being instantiated: GCC in the line above the error,
//
//   In instantiation of 'struct typenet::error<typenet::kernel_larger_than_input,
//     typenet::at_layer<2>, typenet::conv<8, 5, 1, 0, typenet::bias::off>,
//     typenet::input_height<3>, typenet::input_width<3>, typenet::padding_is<0>, typenet::kernel_size<5> >'
//   error: static assertion failed: typenet: the network is wrong; the typenet::error<...>
//     being instantiated names the rule, the layer and the numbers
//
// clang in the note below it, without the layer's default arguments and with `>>`:
//
//   note: in instantiation of template class 'typenet::error<typenet::kernel_larger_than_input,
//     typenet::at_layer<2>, typenet::conv<8, 5>, typenet::input_height<3>, ...>' requested here
//
// A layer states its problems as `using problem = first_problem<problem_if<cond, rule, numbers...>, ...>`.
#include <cstddef>
#include <type_traits>

namespace typenet {

// What a fact of an error means: one tag per number, so that the error line reads.
template <std::size_t N> struct at_layer {};
template <std::size_t N> struct input_channels {};
template <std::size_t N> struct input_height {};
template <std::size_t N> struct input_width {};
template <std::size_t N> struct kernel_size {};
template <std::size_t N> struct stride_is {};
template <std::size_t N> struct padding_is {};
template <std::size_t N> struct window {};
template <std::size_t N> struct parameter_count_is {};
template <std::size_t N> struct budget {};
template <std::size_t N> struct receptive_field_is {};
template <std::size_t N> struct layers_from_output {};
template <std::size_t N> struct at_least {};

// The rules a layer or network can break (the first word of the error).
struct kernel_larger_than_input;
struct zero_stride;
struct zero_kernel;
struct pool_window_does_not_divide_input;
struct needs_flat_input_add_flatten_or_global_avg_pool;
struct parameter_count_over_budget;
struct receptive_field_does_not_cover_input;
struct max_pool_too_close_to_output;
struct batch_norm_directly_before_output;

struct no_problem {};
template <class Rule, class... Facts> struct problem {};

template <bool Broken, class Rule, class... Facts>
using problem_if = std::conditional_t<Broken, problem<Rule, Facts...>, no_problem>;

namespace detail {
template <class... Problems> struct first_problem_of { using type = no_problem; };
template <class P, class... Rest> struct first_problem_of<P, Rest...> {
  using type = std::conditional_t<std::is_same_v<P, no_problem>, typename first_problem_of<Rest...>::type, P>;
};
}  // namespace detail

template <class... Problems>
using first_problem = typename detail::first_problem_of<Problems...>::type;

template <class... Facts>
struct error {
  static_assert(sizeof...(Facts) == 0,
                "typenet: the network is wrong; the typenet::error<...> being instantiated names the rule, "
                "the layer and the numbers");
};

namespace detail {
template <class Where, class Problem> struct report { static constexpr bool ok = true; };
template <class... Where, class Rule, class... Facts>
struct report<error<Where...>, problem<Rule, Facts...>> {
  static constexpr bool ok = sizeof(error<Rule, Where..., Facts...>) == 0;
};
}  // namespace detail

// True when there is no problem; otherwise a compile error naming everything.
template <class Problem, class... Where>
inline constexpr bool reported = detail::report<error<Where...>, Problem>::ok;

}  // namespace typenet
