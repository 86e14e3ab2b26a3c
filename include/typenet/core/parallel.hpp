#pragma once
// parallel_each(n, f): f(i) for every i in [0, n), as oneTBB tasks of one index
// each (f is called as const). The loop is type-erased: one instantiation of oneTBB's parallel_for serves
// every caller, where each kernel's own would cost the compiler a second or more.
//
//   typenet::parallel_each(blocks, [&](std::size_t b) { run_block(b); });
#include <cstddef>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

namespace typenet {

namespace detail {
inline void parallel_indices(std::size_t n, const void* context, void (*f)(const void*, std::size_t)) {
  if (n == 1) return f(context, 0);
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, n, 1),
      [&](const tbb::blocked_range<std::size_t>& r) {
        for (std::size_t i = r.begin(); i != r.end(); ++i) f(context, i);
      },
      tbb::simple_partitioner());
}
}  // namespace detail

template <class F>
void parallel_each(std::size_t n, const F& f) {
  detail::parallel_indices(n, &f, [](const void* c, std::size_t i) { (*static_cast<const F*>(c))(i); });
}

}  // namespace typenet
