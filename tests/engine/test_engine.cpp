// The engine's forward values against hand computations, batches of any size,
// bit-identical results whatever the thread count or the processes sharing a batch,
// optimizers and schedules.
#include <algorithm>
#include <barrier>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <numbers>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <typenet/learn/loss.hpp>
#include <typenet/engine/model.hpp>
#include <typenet/learn/optimizer.hpp>
#include <typenet/learn/schedule.hpp>
#include <thread>
#include <typenet/typenet.hpp>
#include <vector>

#include "../../examples/ref11k.hpp"

using namespace typenet;
namespace tt = boost::test_tools;

namespace {
template <class Net>
std::vector<double> forward_one(const std::vector<double>& params, const std::vector<double>& input, mode m = mode::eval) {
  model<Net, double> net(1);
  net.initialize(1);
  std::copy(params.begin(), params.end(), net.parameters().begin());
  const auto out = net.forward(input, 1, m);
  return {out.begin(), out.end()};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(forward_values)

BOOST_AUTO_TEST_CASE(conv_is_a_cross_correlation) {
  // 1x3x3 input 1..9, kernel [[1,0],[0,-1]] + bias 0.5: out[y][x] = in[y][x] - in[y+1][x+1] + 0.5 = -3.5
  const auto out = forward_one<network<input<1, 3, 3>, conv<1, 2, 1, 0, bias::on>>>({1, 0, 0, -1, 0.5},
                                                                                    {1, 2, 3, 4, 5, 6, 7, 8, 9});
  BOOST_TEST(out == std::vector<double>({-3.5, -3.5, -3.5, -3.5}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(conv_with_padding_and_stride) {
  // All-ones 3x3 kernel over 1..9 padded by 1, stride 2: corners of the padded map.
  const auto out = forward_one<network<input<1, 3, 3>, conv<1, 3, 2, 1>>>(std::vector<double>(9, 1.0),
                                                                          {1, 2, 3, 4, 5, 6, 7, 8, 9});
  BOOST_TEST(out == std::vector<double>({1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(conv_sums_over_input_channels) {
  // Two channels, 1x1 kernel weights 2 and -1: 2 * a - b.
  const auto out = forward_one<network<input<2, 1, 2>, conv<1, 1>>>({2, -1}, {3, 4, 1, 1});
  BOOST_TEST(out == std::vector<double>({5, 7}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(pooling) {
  const std::vector<double> in{1, 5, 2, 0, 3, 4, 8, 1, 0, 0, 9, 9, 7, 1, 9, 6};
  const auto max = forward_one<network<input<1, 4, 4>, max_pool<2>>>({}, in);
  const auto mean = forward_one<network<input<1, 4, 4>, avg_pool<2>>>({}, in);
  const auto global = forward_one<network<input<1, 4, 4>, global_avg_pool>>({}, in);
  BOOST_TEST(max == std::vector<double>({5, 8, 7, 9}), tt::per_element());
  BOOST_TEST(mean == std::vector<double>({3.25, 2.75, 2, 8.25}), tt::per_element());
  BOOST_TEST(global == std::vector<double>({65.0 / 16}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(softmax_and_log_softmax) {
  const auto p = forward_one<network<input<3>, softmax>>({}, {0, std::log(2.0), std::log(5.0)});
  BOOST_TEST(p[0] == 1.0 / 8, tt::tolerance(1e-14));
  BOOST_TEST(p[1] == 2.0 / 8, tt::tolerance(1e-14));
  BOOST_TEST(p[2] == 5.0 / 8, tt::tolerance(1e-14));
  const auto l = forward_one<network<input<3>, log_softmax>>({}, {1000, 1000 + std::log(3.0), 0});  // no overflow
  BOOST_TEST(l[0] == std::log(0.25), tt::tolerance(1e-12));
  BOOST_TEST(l[1] == std::log(0.75), tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(batch_norm_in_training_and_evaluation) {
  // One channel, batch of 4 scalars 1, 2, 3, 6: mean 3, biased variance 3.5, unbiased 14/3.
  using net = network<input<1>, batch_norm>;
  model<net, double> m(4);
  m.initialize(1);
  m.parameters()[0] = 2, m.parameters()[1] = 1;  // gamma, beta
  const std::vector<double> x{1, 2, 3, 6};
  const auto y = m.forward(x, 4, mode::train);
  const double sd = std::sqrt(3.5 + 1e-5);
  for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(y[i] == 2 * (x[i] - 3) / sd + 1, tt::tolerance(1e-12));
  BOOST_TEST(m.buffers()[0] == 0.1 * 3, tt::tolerance(1e-12));                  // running mean
  BOOST_TEST(m.buffers()[1] == 0.9 * 1 + 0.1 * 14.0 / 3, tt::tolerance(1e-12));  // running variance, unbiased
  const auto e = m.forward(std::vector<double>{1}, 1, mode::eval);
  BOOST_TEST(e[0] == 2 * (1 - 0.3) / std::sqrt(m.buffers()[1] + 1e-5) + 1, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(dropout_drops_at_its_rate_and_only_in_training) {
  using net = network<input<1000>, dropout<0.25>>;
  model<net> m(16);
  const std::vector<float> ones(16 * 1000, 1.0f);
  const auto y = m.forward(ones, 16, mode::train, 99);
  const auto kept = std::count(y.begin(), y.end(), 1.0f / 0.75f);
  const auto dropped = std::count(y.begin(), y.end(), 0.0f);
  BOOST_TEST(kept + dropped == 16000);
  BOOST_TEST(std::abs(dropped / 16000.0 - 0.25) < 0.02);
  const auto e = m.forward(ones, 16, mode::eval);
  BOOST_TEST(std::count(e.begin(), e.end(), 1.0f) == 16000);
  // Blocks of one sample draw a register of a channel's elements at a time (the
  // last 4 of each channel's 500 one by one): the same mask for every element.
  using map = network<input<2, 10, 50>, dropout<0.25>>;
  model<map> blocks(16);
  single_sample_model<map> one(16);
  const auto y16 = blocks.forward(ones, 16, mode::train, 99);
  const std::vector<float> kept_by_blocks(y16.begin(), y16.end());
  const auto y1 = one.forward(ones, 16, mode::train, 99);
  BOOST_TEST(std::ranges::equal(y1, kept_by_blocks));
}

BOOST_AUTO_TEST_SUITE_END()

// In evaluation a conv stores its outputs through the pointwise layers after it
// (its epilogue); kept memory stores every layer's output instead. Both give the
// same bits, in blocks of samples and of one sample, with a bias, batch norm's
// running statistics, a chain of one (relu) and of three.
BOOST_AUTO_TEST_CASE(a_conv_and_the_chain_after_it_in_one_pass_give_what_layer_by_layer_gives) {
  using net = network<input<2, 11, 11>, conv<5, 3, 1, 1, bias::on>, batch_norm, typenet::relu, dropout<0.2>,
                      conv<4, 3>, typenet::relu, max_pool<3>, conv<3, 3, 1, 1, bias::on>, typenet::tanh, flatten,
                      dense<4>>;
  random_sequence rng(8);
  std::vector<float> x(20 * net::input_size);
  for (float& v : x) v = static_cast<float>(rng.uniform(-1.5, 1.5));
  const auto outputs = [&]<class M>(M m) {
    m.initialize(4);
    random_sequence statistics(9);  // running means and variances, the same for every model
    for (float& v : m.buffers()) v = 0.5f + static_cast<float>(statistics.uniform(0, 1));
    const auto y = m.forward(x, 20, mode::eval);
    return std::vector<float>(y.begin(), y.end());
  };
  const auto layer_by_layer = outputs(model<net, float, activation_memory::kept>(20));
  BOOST_TEST(outputs(model<net>(20)) == layer_by_layer, tt::per_element());
  BOOST_TEST(outputs(single_sample_model<net>(20)) == layer_by_layer, tt::per_element());
}

// In training, a chain whose output only a max-pool reads runs into the pool's
// windows, the pool keeping which tap won each window instead of the chain's
// output (model.hpp, chain_feeds_windows); kept memory stores the output and pools
// it layer by layer. Both give the same loss and gradients, to the bit, with ties
// in the windows (relu's and dropout's zeros: the first maximum takes the gradient),
// a chain of three and one of two, a partial block, and a chain that may not feed
// the windows (a relu written over its input) beside them.
BOOST_AUTO_TEST_CASE(a_chain_run_into_a_max_pool_trains_as_layer_by_layer) {
  using net = network<input<2, 12, 12>, conv<4, 3, 1, 1>, batch_norm, typenet::relu, dropout<0.3>, max_pool<2>,
                      conv<5, 3, 1, 1>, batch_norm, typenet::relu, max_pool<3>, conv<6, 1>, typenet::relu, max_pool<2>,
                      flatten, dense<3>, log_softmax>;
  using model_type = model<net>;
  static_assert(model_type::plan::chain_end[1] == 3 && !model_type::plan::overwrites[3]);  // feeds the windows
  random_sequence rng(12);
  constexpr std::size_t count = 21;
  std::vector<float> x(count * net::input_size), labels(count);
  for (float& v : x) v = static_cast<float>(rng.uniform(-1.5, 1.5));
  for (float& l : labels) l = static_cast<float>(rng.below(3));
  const auto train = [&]<class M>(M m) {
    m.initialize(5);
    std::vector<float> result{m.template train_forward_backward<nll_loss>(x, labels, count, 7)};
    result.insert(result.end(), m.gradients().begin(), m.gradients().end());
    return result;
  };
  const auto layer_by_layer = train(model<net, float, activation_memory::kept>(count));
  BOOST_TEST(train(model_type(count)) == layer_by_layer, tt::per_element());
  // The gradient went through both chains into the first conv's every weight.
  BOOST_TEST(std::ranges::count(std::span(layer_by_layer).subspan(1, 72), 0.0f) == 0);
}

BOOST_AUTO_TEST_CASE(a_sample_gets_the_same_output_in_any_batch) {
  // Evaluation is per sample: a batch of 37 (2 full blocks and a partial one),
  // batches of 1, and blocks of one sample (kernels vectorised over pixels, not
  // samples; the same sums in the same order) give identical outputs.
  using net = examples::ref11k;
  model<net> big(37), one(1);
  single_sample_model<net> unbatched(37);
  big.initialize(3), one.initialize(3), unbatched.initialize(3);
  random_sequence rng(5);
  std::vector<float> x(37 * net::input_size);
  for (float& v : x) v = static_cast<float>(rng.uniform(-0.5, 2.5));
  const auto all = big.forward(x, 37, mode::eval);
  const std::vector<float> outputs(all.begin(), all.end());
  for (std::size_t s : {0u, 15u, 16u, 36u}) {
    const auto single = one.forward(std::span<const float>(x).subspan(s * net::input_size, net::input_size), 1, mode::eval);
    for (std::size_t k = 0; k < 10; ++k) BOOST_TEST(single[k] == outputs[s * 10 + k]);
  }
  const auto unbatched_outputs = unbatched.forward(x, 37, mode::eval);
  for (std::size_t i = 0; i < outputs.size(); ++i) BOOST_TEST(unbatched_outputs[i] == outputs[i]);
}

// A pass prepares its convs' weights (Winograd's transforms) again only where they
// may have changed: after initialize() or set_parameters(), or, once parameters()
// has lent them as a mutable span, whenever they differ from those it prepared from.
BOOST_AUTO_TEST_CASE(a_pass_sees_weights_set_or_changed_through_a_lent_span) {
  using net = examples::ref11k;
  single_sample_model<net> m(1), fresh(1);
  m.initialize(3), fresh.initialize(5);  // buffers: the same running statistics
  random_sequence rng(4);
  std::vector<float> x(net::input_size);
  for (float& v : x) v = static_cast<float>(rng.uniform(-0.5, 2.5));
  const auto output = [&](auto& model) {
    const auto out = model.forward(x, 1, mode::eval);
    return std::vector<float>(out.begin(), out.end());
  };
  const std::vector<float> initial(std::as_const(m).parameters().begin(), std::as_const(m).parameters().end());
  const auto first = output(m);
  std::vector<float> flipped = initial;
  for (float& w : flipped) w = -w;
  m.set_parameters(flipped);
  fresh.set_parameters(flipped);
  const auto after_set = output(m);
  BOOST_TEST(after_set == output(fresh), tt::per_element());
  BOOST_TEST(after_set != first);
  const std::span<float> lent = m.parameters();
  BOOST_TEST(output(m) == after_set, tt::per_element());
  std::ranges::copy(initial, lent.begin());  // behind the model's back
  BOOST_TEST(output(m) == first, tt::per_element());
  BOOST_CHECK_THROW(m.set_parameters(std::span(initial).first(10)), std::invalid_argument);
}

namespace {
// Five samples evaluated in a block and one at a time (seeds from `seed`, running
// statistics away from 0 and 1, parameters of random signs, so that some batch
// norms scale by -1 and a max-pool after them picks what a max-pool before them
// would not; the same in both) must give the same bits.
template <class Net, class T = float>
void one_sample_gives_what_a_block_gives(std::uint64_t seed) {
  model<Net, T> blocks(5);
  single_sample_model<Net, T> one(5);
  blocks.initialize(seed);
  random_sequence statistics(seed + 1);
  for (T& v : blocks.buffers()) v = T(0.5) + static_cast<T>(statistics.uniform(0, 1));
  for (T& p : blocks.parameters()) p = statistics.below(2) ? -p : p;
  std::ranges::copy(blocks.buffers(), one.buffers().begin());
  one.set_parameters(blocks.parameters());
  random_sequence rng(seed + 2);
  std::vector<T> x(5 * Net::input_size);
  for (T& v : x) v = static_cast<T>(rng.uniform(-1, 1));
  const auto by_blocks = blocks.forward(x, 5, mode::eval);
  const std::vector<T> expected(by_blocks.begin(), by_blocks.end());
  const auto by_one = one.forward(x, 5, mode::eval);
  BOOST_TEST(std::vector<T>(by_one.begin(), by_one.end()) == expected, tt::per_element());
  // Not all zeros or equal: the relus let something through and the samples differ.
  BOOST_TEST(expected[0] != expected[Net::output_size]);
}
}  // namespace

// One sample's Winograd kernel over tiles runs a map of more than about 256 tiles in
// bands of whole tile rows (kernels/winograd.hpp), the last band shorter; ref11k's
// maps are one band each, of even sizes. Two 3x3 convs on 41 x 41, the input of the
// first bordered by the padding, the last tile of each row and column half past the
// map. On AVX-512 the first, of 8 channels (half a register), runs over tiles: 441
// tiles in bands of 12 and 9 tile rows, rows wider than a register of tiles, bands
// that end mid-register. The second, of 12 (3/4 of a register), runs with channels
// in the registers, the lanes past them dropped. A sample's outputs must still be a
// block's, bit for bit.
BOOST_AUTO_TEST_CASE(a_large_map_in_bands_gives_one_sample_what_a_block_gives) {
  using net = network<input<8, 41, 41>, conv<8, 3, 1, 1>, batch_norm, typenet::relu, conv<12, 3>, typenet::relu,
                      global_avg_pool, dense<5>>;
  static_assert(detail::correlation<8, 41, 41, 8, 3, 1, 1>::by_winograd);
  static_assert(detail::correlation<8, 41, 41, 12, 3, 1>::by_winograd);
  one_sample_gives_what_a_block_gives<net>(6);
}

// Where a conv's output channels fill whole registers, one sample's Winograd kernel
// holds channels in its registers (one_sample_by_channels) and runs F(4x4) where
// training does, evaluation with it; ref11k's maps are even and of 16 channels or
// fewer. Here: 24 input channels (a register and a part on AVX-512), 32 output
// channels (two registers), a padded input, F(4x4) on 23 x 23 and 21 x 21 outputs
// (the last tile of each row and column partly past the map), F(2x2) on 5 x 5, maps
// that are not whole registers of pixels. A sample's outputs must be a block's, bit
// for bit, in floats and in doubles.
BOOST_AUTO_TEST_CASE(one_samples_kernel_over_channels_gives_what_a_block_gives) {
  using net = network<input<24, 23, 23>, conv<32, 3, 1, 1>, batch_norm, typenet::relu, conv<16, 3>, typenet::relu,
                      max_pool<3>, conv<16, 3>, global_avg_pool, dense<5>>;
  static_assert(detail::correlation<24, 23, 23, 32, 3, 1, 1>::evaluates_by_winograd_4x4);
  static_assert(detail::correlation<32, 23, 23, 16, 3, 1>::evaluates_by_winograd_4x4);
  static_assert(detail::correlation<16, 7, 7, 16, 3, 1>::channels_fill_registers &&
                !detail::correlation<16, 7, 7, 16, 3, 1>::evaluates_by_winograd_4x4);
  one_sample_gives_what_a_block_gives<net>(11);
  one_sample_gives_what_a_block_gives<net, double>(11);  // half the lanes: twice the registers of output channels
}

// In evaluation, one sample's kernel over channels takes the layers after it as a
// function of a register of channels, and runs the max-pool after them where its
// windows lie in the kernel's tiles (kernels/epilogue.hpp). Here: a conv with a
// bias, F(4x4) on a 22 x 22 output (the last tiles half past the map), then batch
// norm (scales of both signs), relu and a 2 x 2 max-pool in the kernel; then
// F(2x2) and a relu, whose 3 x 3 max-pool does not fit its 2 x 2 tiles and runs
// as a layer of its own. A sample's outputs must be a block's, bit for bit.
BOOST_AUTO_TEST_CASE(one_samples_kernel_pools_its_output_as_a_block_does) {
  using net = network<input<16, 24, 24>, conv<16, 3, 1, 0, bias::on>, batch_norm, typenet::relu, max_pool<2>,
                      conv<16, 3>, typenet::relu, max_pool<3>, global_avg_pool, dense<5>>;
  static_assert(detail::correlation<16, 24, 24, 16, 3, 1>::evaluates_by_winograd_4x4 &&
                detail::correlation<16, 24, 24, 16, 3, 1>::one_sample_pools<2, 2>);
  static_assert(!detail::correlation<16, 11, 11, 16, 3, 1>::one_sample_pools<3, 3>);
  one_sample_gives_what_a_block_gives<net>(21);
  one_sample_gives_what_a_block_gives<net, double>(21);
}

// Where one sample's conv is large (8.6M multiply-adds here, a 5x5 kernel: not
// Winograd's) and threads are free, its channel groups run as parallel tasks
// (correlate.hpp, one_sample): each output's arithmetic is the same, so the bits are.
BOOST_AUTO_TEST_CASE(one_samples_conv_split_across_threads_gives_what_a_block_gives) {
  using net = network<input<3, 64, 64>, conv<32, 5>, typenet::relu, global_avg_pool, dense<4>>;
  model<net> blocks(3);
  single_sample_model<net> one(3);
  blocks.initialize(9), one.initialize(9);
  random_sequence rng(10);
  std::vector<float> x(3 * net::input_size);
  for (float& v : x) v = static_cast<float>(rng.uniform(-1, 1));
  const auto by_blocks = blocks.forward(x, 3, mode::eval);
  const std::vector<float> expected(by_blocks.begin(), by_blocks.end());
  tbb::task_arena four(4);  // fewer blocks than threads on any machine: the split runs
  std::vector<float> got;
  four.execute([&] {
    const auto y = one.forward(x, 3, mode::eval);
    got.assign(y.begin(), y.end());
  });
  BOOST_TEST(got == expected, tt::per_element());
  BOOST_TEST(expected[0] != expected[4]);
}

BOOST_AUTO_TEST_CASE(training_is_bit_identical_whatever_the_thread_count) {
  using net = examples::ref11k;
  random_sequence rng(11);
  std::vector<float> x(100 * net::input_size), labels(100);
  for (float& v : x) v = static_cast<float>(rng.uniform(-0.5, 2.5));
  for (float& l : labels) l = static_cast<float>(rng.below(10));
  // More workers than cores, so that 8 threads really run 8 ways.
  tbb::global_control allow(tbb::global_control::max_allowed_parallelism, 8);
  const auto run = [&](int threads) {
    tbb::task_arena arena(threads);
    std::vector<float> params;
    arena.execute([&] {
      model<net> m(100);  // 100 samples: 6 full blocks and a partial one
      m.initialize(42);
      sgd opt{.momentum = 0.9};
      for (std::uint64_t step = 0; step < 3; ++step) {
        m.train_forward_backward<nll_loss>(x, labels, 100, step);
        opt.step(m.parameters(), std::span<const float>(m.gradients()), 0.05);
      }
      params.assign(m.parameters().begin(), m.parameters().end());
      params.insert(params.end(), m.buffers().begin(), m.buffers().end());
    });
    return params;
  };
  const auto one = run(1), two = run(2), eight = run(8);
  BOOST_TEST(one.size() == net::parameter_count + net::buffer_count);
  BOOST_TEST(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
  BOOST_TEST(std::memcmp(one.data(), eight.data(), one.size() * sizeof(float)) == 0);
  model<net> fresh(1);
  fresh.initialize(42);
  BOOST_TEST(std::memcmp(one.data(), fresh.parameters().data(), net::parameter_count * sizeof(float)) != 0);  // it trained
}

namespace {
// P models in P threads sharing each batch as P processes would (block_exchange.hpp),
// through memory: gather() publishes this thread's units, and after a barrier copies the
// others'; fold() gathers the units, then adds them all (the fold the processes' chain makes).
class threads_exchange final : public block_exchange {
 public:
  struct shared {
    explicit shared(std::size_t processes) : meeting(static_cast<std::ptrdiff_t>(processes)), processes(processes) {}
    std::barrier<> meeting;
    std::size_t processes;
    std::vector<std::byte> units;
  };
  threads_exchange(shared& s, std::size_t rank) : s_(s), rank_(rank) {}
  unit_range share(std::size_t units) const override { return even_share(units, rank_, s_.processes); }
  void gather(std::byte* base, std::size_t stride, std::size_t width, std::size_t units) override {
    if (rank_ == 0) s_.units.resize(units * width);
    s_.meeting.arrive_and_wait();
    const unit_range mine = share(units);
    for (std::size_t u = mine.first; u < mine.first + mine.count; ++u)
      std::memcpy(s_.units.data() + u * width, base + u * stride, width);
    s_.meeting.arrive_and_wait();
    for (std::size_t u = 0; u < units; ++u) std::memcpy(base + u * stride, s_.units.data() + u * width, width);
    s_.meeting.arrive_and_wait();
  }
  void fold(float* total, const float* units, std::size_t size, std::size_t count) override {
    std::vector<float> all(units, units + size * count);
    gather(reinterpret_cast<std::byte*>(all.data()), size * sizeof(float), size * sizeof(float), count);
    fold_units(total, all.data(), size, {0, count});
  }
  void fold(double*, const double*, std::size_t, std::size_t) override { throw std::logic_error("floats only"); }

 private:
  shared& s_;
  std::size_t rank_;
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_batch_shared_by_processes_trains_the_weights_of_one_process_bit_for_bit) {
  using net = examples::ref11k;  // batch norm and dropout: every batch statistic and per-sample draw
  random_sequence rng(12);
  constexpr std::size_t count = 100;  // 13 blocks of 8 lanes, 7 of 16: uneven shares
  std::vector<float> x(count * net::input_size), labels(count);
  for (float& v : x) v = static_cast<float>(rng.uniform(-0.5, 2.5));
  for (float& l : labels) l = static_cast<float>(rng.below(10));
  const auto train = [&](model<net>& m, std::size_t batch) {
    m.initialize(42);
    sgd opt{.momentum = 0.9};
    const unit_range mine = m.batch_share(batch);
    float loss = 0;
    for (std::uint64_t step = 0; step < 3; ++step) {
      loss += m.train_forward_backward<nll_loss>(std::span<const float>(x).subspan(mine.first * net::input_size),
                                                 std::span<const float>(labels).subspan(mine.first), batch, step);
      opt.step(m.parameters(), std::span<const float>(m.gradients()), 0.05);
    }
    std::vector<float> trained(m.parameters().begin(), m.parameters().end());
    trained.insert(trained.end(), m.buffers().begin(), m.buffers().end());
    trained.push_back(loss);
    return trained;
  };
  for (const std::size_t batch : {count, std::size_t{12}}) {  // 12: 2 blocks (1 of 16), so some processes get none
    model<net> alone(count);
    const std::vector<float> expected = train(alone, batch);
    for (const std::size_t processes : {2u, 3u, 16u}) {
      threads_exchange::shared meeting(processes);
      std::vector<std::vector<float>> results(processes);
      std::vector<std::thread> threads;
      for (std::size_t r = 0; r < processes; ++r)
        threads.emplace_back([&, r] {
          threads_exchange exchange(meeting, r);
          model<net> m(count);
          m.share_batches(&exchange);
          results[r] = train(m, batch);
        });
      for (std::thread& t : threads) t.join();
      for (std::size_t r = 0; r < processes; ++r)
        BOOST_TEST(std::memcmp(results[r].data(), expected.data(), expected.size() * sizeof(float)) == 0,
                   "batch " << batch << ", process " << r << " of " << processes);
    }
  }
}

BOOST_AUTO_TEST_SUITE(optimizers)

BOOST_AUTO_TEST_CASE(sgd_with_momentum_follows_pytorch) {
  // PyTorch: v1 = g, p1 = p0 - lr v1; v2 = mu v1 + g, p2 = p1 - lr v2 (g constant 1, lr 0.1, mu 0.9).
  std::vector<float> p{1.0f};
  const std::vector<float> g{1.0f};
  sgd opt{.momentum = 0.9};
  opt.step(std::span<float>(p), std::span<const float>(g), 0.1);
  BOOST_TEST(p[0] == 0.9f, tt::tolerance(1e-6f));
  opt.step(std::span<float>(p), std::span<const float>(g), 0.1);
  BOOST_TEST(p[0] == 0.9f - 0.19f, tt::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(sgd_nesterov_and_weight_decay) {
  std::vector<double> p{2.0};
  const std::vector<double> g{1.0};
  sgd opt{.momentum = 0.5, .nesterov = true, .weight_decay = 0.1};
  opt.step(std::span<double>(p), std::span<const double>(g), 0.1);
  // g' = 1 + 0.1 * 2 = 1.2; v = 1.2; step = g' + mu v = 1.8; p = 2 - 0.18
  BOOST_TEST(p[0] == 1.82, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(adam_first_step_is_lr_times_sign) {
  std::vector<double> p{1.0, -1.0};
  const std::vector<double> g{0.3, -2.0};
  adam opt;
  opt.step(std::span<double>(p), std::span<const double>(g), 0.01);
  BOOST_TEST(p[0] == 1.0 - 0.01, tt::tolerance(1e-6));
  BOOST_TEST(p[1] == -1.0 + 0.01, tt::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(adamw_decays_the_weights_apart_from_the_gradient) {
  std::vector<double> p{1.0};
  const std::vector<double> g{0.0};
  adamw opt{.weight_decay = 0.5};
  opt.step(std::span<double>(p), std::span<const double>(g), 0.1);
  BOOST_TEST(p[0] == 1.0 - 0.1 * 0.5, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(one_cycle_follows_pytorch) {
  const one_cycle s{.max_lr = 0.05, .total_steps = 100};
  BOOST_TEST(s.learning_rate(0) == 0.05 / 25, tt::tolerance(1e-12));
  BOOST_TEST(s.learning_rate(29) == 0.05, tt::tolerance(1e-12));  // the peak at pct_start * total - 1
  BOOST_TEST(s.learning_rate(99) == 0.05 / 25 / 1e4, tt::tolerance(1e-9));
  BOOST_TEST(*s.momentum(0) == 0.95, tt::tolerance(1e-12));
  BOOST_TEST(*s.momentum(29) == 0.85, tt::tolerance(1e-12));
  // Half-way up: the mean of start and peak.
  BOOST_TEST(s.learning_rate(14) == (0.002 + 0.05) / 2 + (0.002 - 0.05) / 2 * std::cos(std::numbers::pi * 14 / 29),
             tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(step_and_cosine_schedules) {
  const step_schedule st{.lr = 0.1, .step_size = 10, .gamma = 0.5};
  BOOST_TEST(st.learning_rate(9) == 0.1, tt::tolerance(1e-12));
  BOOST_TEST(st.learning_rate(25) == 0.025, tt::tolerance(1e-12));
  const cosine_schedule c{.lr = 0.1, .total_steps = 100};
  BOOST_TEST(c.learning_rate(0) == 0.1, tt::tolerance(1e-12));
  BOOST_TEST(c.learning_rate(50) == 0.05, tt::tolerance(1e-12));
  BOOST_TEST(c.learning_rate(100) == 0.0, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_SUITE_END()

// The execution plan of ref11k, by hand from its layer list: batch norm at 1, 5, 11,
// 15, 19 and 23 cuts it into segments; each batch norm, relu and dropout run as one chain.
BOOST_AUTO_TEST_SUITE(execution_plan_of_ref11k)

using plan = typenet::model<examples::ref11k>::plan;

BOOST_AUTO_TEST_CASE(batch_norms_are_the_barriers) {
  BOOST_TEST(plan::next_barrier[0] == 1u);
  BOOST_TEST(plan::next_barrier[1] == 5u);
  BOOST_TEST(plan::next_barrier[5] == 11u);
  BOOST_TEST(plan::next_barrier[23] == examples::ref11k::depth);
  BOOST_TEST(plan::segment_bottom[4] == 2u);
  BOOST_TEST(plan::segment_bottom[28] == 24u);
  BOOST_TEST(plan::segment_bottom[0] == 0u);
}

BOOST_AUTO_TEST_CASE(batch_norm_relu_dropout_is_one_chain) {
  BOOST_TEST(plan::chain_end[1] == 3u);
  BOOST_TEST(plan::chain_start[3] == 1u);
  BOOST_TEST(plan::chain_end[4] == 4u);  // a conv is no chain
  BOOST_TEST(plan::chain_end[26] == 26u);
}

BOOST_AUTO_TEST_CASE(the_arena_holds_what_the_network_says_it_keeps) {
  BOOST_TEST(plan::activation_offset[0] == 0u);
  BOOST_TEST(plan::activation_offset[1] == 28u * 28u);  // the input, then conv 0's output
  BOOST_TEST(plan::activation_size == examples::ref11k::activation_size);
  // conv 0's output (16x26x26) is the chain's input: the chain's inner values take its
  // place (never stored), and the chain's output comes after it, since backward
  // recomputes the chain from its input.
  BOOST_TEST(plan::activation_offset[2] == plan::activation_offset[1]);
  BOOST_TEST(plan::activation_offset[3] == plan::activation_offset[1]);
  BOOST_TEST(plan::activation_offset[4] == plan::activation_offset[1] + 16u * 26u * 26u);
  BOOST_TEST(plan::largest_activation == 16u * 26u * 26u);
}

BOOST_AUTO_TEST_CASE(the_last_layer_reads_the_first_gradient_buffer) {
  BOOST_TEST(!plan::reads_second_gradient_buffer[examples::ref11k::depth - 1]);
  // log_softmax does not write in place, so the layer below it reads the other buffer.
  BOOST_TEST(plan::reads_second_gradient_buffer[examples::ref11k::depth - 2]);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(evaluation)

// A training model (batches of 32) evaluates 300 samples in batches of 32 and gives
// what a model built for all 300 at once gives, to the bit, with each sample's
// loss as the loss computes it for that sample alone.
BOOST_AUTO_TEST_CASE(any_count_in_batches_of_the_model_equals_one_big_batch) {
  using net = examples::ref11k;
  constexpr std::size_t count = 300;
  typenet::random_sequence rng(5);
  std::vector<float> images(count * net::input_size), labels(count);
  for (float& x : images) x = static_cast<float>(rng.uniform(-0.4, 2.8));
  for (float& y : labels) y = static_cast<float>(rng.below(10));

  typenet::model<net> small(32), whole(count);
  small.initialize(3);
  whole.initialize(3);
  const auto e = small.evaluate<typenet::nll_loss>(images, labels, count);
  const auto out = whole.forward(images, count, typenet::mode::eval);
  BOOST_TEST(e.outputs.size() == out.size());
  BOOST_TEST(std::memcmp(e.outputs.data(), out.data(), out.size() * sizeof(float)) == 0);
  BOOST_TEST(e.losses.size() == count);
  for (std::size_t s : {std::size_t{0}, std::size_t{31}, std::size_t{32}, std::size_t{299}})
    BOOST_TEST(e.losses[s] == -out[s * 10 + static_cast<std::size_t>(labels[s])]);  // nll of log-probabilities
}

BOOST_AUTO_TEST_SUITE_END()
