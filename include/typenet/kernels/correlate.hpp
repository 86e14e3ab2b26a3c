#pragma once
// The convolution kernels that conv and dense share. Activations are packs of
// samples laid out [channel][row][column]; weights are scalars laid out as in
// PyTorch, [out channel][in channel][row][column]. Every bound is a template
// argument, so loops unroll and the accumulators of a tile live in registers.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#include "typenet/core/pack.hpp"
#include "typenet/core/parallel.hpp"
#include "typenet/kernels/epilogue.hpp"
#include "typenet/kernels/tiling.hpp"
#include "typenet/kernels/winograd.hpp"

namespace typenet::detail {

// Output tile of the forward kernel: out_tile channels x pixel_tile columns of
// accumulators, each weight broadcast once per tile: 16 of AVX-512's 32 registers,
// 12 of AVX2's 16 (the rest hold the inputs and a weight).
inline constexpr std::size_t out_tile = 4;
inline constexpr std::size_t pixel_tile = vector_registers >= 32 ? 4 : 3;
// Accumulators of the weight gradient's tile, and of one sample's tile.
inline constexpr std::size_t weight_tile_registers = vector_registers >= 32 ? 18 : 9;
inline constexpr std::size_t row_tile_registers = vector_registers * 3 / 4;

// Copies a [C][H][W] map into the middle of a zero [C][H + 2*Border][W + 2*Border]
// map, spreading its pixels Spread apart (Spread > 1 undoes a stride in backward).
// Without spreading only the border is zeroed: the rest is overwritten anyway.
template <std::size_t C, std::size_t H, std::size_t W, std::size_t Border, std::size_t Spread, class V>
void embed(const V* in, V* out) {
  constexpr std::size_t ho = (H - 1) * Spread + 1 + 2 * Border;
  constexpr std::size_t wo = (W - 1) * Spread + 1 + 2 * Border;
  if constexpr (Spread > 1) {
    std::fill(out, out + C * ho * wo, V{});
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t y = 0; y < H; ++y)
        for (std::size_t x = 0; x < W; ++x)
          out[(c * ho + Border + y * Spread) * wo + Border + x * Spread] = in[(c * H + y) * W + x];
  } else {
    for (std::size_t c = 0; c < C; ++c) {
      V* plane = out + c * ho * wo;
      std::fill(plane, plane + Border * wo, V{});
      for (std::size_t y = 0; y < H; ++y) {
        V* row = plane + (Border + y) * wo;
        std::fill(row, row + Border, V{});
        std::copy(in + (c * H + y) * W, in + (c * H + y + 1) * W, row + Border);
        std::fill(row + Border + W, row + wo, V{});
      }
      std::fill(plane + (Border + H) * wo, plane + ho * wo, V{});
    }
  }
}

// What a pass's outputs must reproduce: evaluation's, one sample's kernel's bit for
// bit (a sample's output does not depend on its batch); training's (a forward pass
// in training mode, an input gradient), only the exact sums, to float rounding.
enum class correlation_pass { evaluation, training };

// The input is Hin x Win, read as if bordered by Pad zeros: the border is never
// stored, the kernel skips its taps.
template <std::size_t Cin, std::size_t Hin, std::size_t Win, std::size_t Cout, std::size_t K, std::size_t S,
          std::size_t Pad = 0>
struct correlation {
  static constexpr std::size_t hp = Hin + 2 * Pad, wp = Win + 2 * Pad;
  // 3x3 kernels go by Winograd's transform (winograd.hpp), which pays where the
  // input channels share its transforms' cost (ref11k's 16-channel layers, not its
  // first, of one input channel), and its tile of sums stays in L1 (up to 32 channels).
  static constexpr bool by_winograd = K == 3 && S == 1 && Cin >= 8 && Cin <= 32 && Cout <= 32;
  static constexpr std::size_t hout = (hp - K) / S + 1;
  static constexpr std::size_t wout = (wp - K) / S + 1;
  // Training's passes over a block take F(4x4) where its whole tiles need at most 70%
  // of F(2x2)'s multiplies (a 24 x 24 output: 56%; 10 x 10: 81%, not taken): such
  // tiles ran 1.2 to 1.4x faster at 16 channels.
  static constexpr std::size_t tiles_2x2 = ((hout + 1) / 2) * ((wout + 1) / 2), tiles_4x4 = ((hout + 3) / 4) * ((wout + 3) / 4);
  static constexpr bool trains_by_winograd_4x4 = by_winograd && 10 * 36 * tiles_4x4 <= 7 * 16 * tiles_2x2;
  // One sample's Winograd kernel runs any F(m x m) where the output channels fill at
  // least 3/4 of the registers that hold them (of floats, so of doubles too:
  // one_sample_by_channels), else F(2x2) only (one_sample). With channels in the
  // registers on AVX-512, one MNIST image through the example network of 13-channel
  // layers took 0.020 ms against 0.026; of 20 channels (5/8 of two registers) 0.028
  // against 0.025, of 8 (half of one) 0.0092 against 0.0084. Evaluation takes the
  // transform one sample's kernel does, so that a sample's outputs are the same bits
  // in any batch: F(4x4) where training does and one sample can.
  static constexpr std::size_t float_lanes = vector_bytes / sizeof(float);  // the most scalars a register holds
  static constexpr std::size_t float_registers = (Cout + float_lanes - 1) / float_lanes;
  static constexpr bool channels_fill_registers = 4 * Cout >= 3 * float_registers * float_lanes;
  static constexpr bool evaluates_by_winograd_4x4 = trains_by_winograd_4x4 && channels_fill_registers;
  // Named only, instantiated where used; one sample's input is stored bordered.
  using winograd = winograd_3x3<2, Cin, Hin, Win, Cout, Pad>;
  using winograd_4x4 = winograd_3x3<4, Cin, Hin, Win, Cout, Pad>;
  using one_sample_winograd = winograd_3x3<evaluates_by_winograd_4x4 ? 4 : 2, Cin, hp, wp, Cout, 0>;
  template <class T>
  using one_sample_winograd_kernel =
      std::conditional_t<channels_fill_registers, typename one_sample_winograd::template one_sample_by_channels<T>,
                         typename one_sample_winograd::template one_sample<T>>;
  // One sample's kernel over channels max-pools its outputs in evaluation, the
  // epilogue's chain before the pool, where each window lies in one tile.
  template <std::size_t PoolHeight, std::size_t PoolWidth>
  static constexpr bool one_sample_pools = [] {
    if constexpr (S == 1 && by_winograd && channels_fill_registers)
      return one_sample_winograd_kernel<float>::template pools<PoolHeight, PoolWidth>;
    else return false;
  }();
  // The weight gradient takes F(4x4) where training does and the map has 16 tiles or more:
  // 1.35x F(2x2)'s speed on 24 x 24 outputs (36 tiles), 0.92x on 8 x 8 (4 tiles), where
  // Z's final transform, n^2 Cout Cin scalars a block, weighs more than its tiles.
  using weight_gradient_winograd =
      std::conditional_t<trains_by_winograd_4x4 && tiles_4x4 >= 16, winograd_4x4, winograd>;
  // Weights as forward() takes them: prepare()'s for Winograd's transforms (F(2x2)'s
  // where evaluation takes it, then F(4x4)'s where training does, at winograd_4x4_at)
  // and a register's slack that one sample's kernel reads past them; else as they are.
  static constexpr std::size_t winograd_4x4_at = evaluates_by_winograd_4x4 ? 0 : winograd::prepared_size;
  static constexpr std::size_t prepared_size = [] {
    if constexpr (trains_by_winograd_4x4) return winograd_4x4_at + winograd_4x4::prepared_size + float_lanes;
    else if constexpr (by_winograd) return winograd::prepared_size + float_lanes;
    else return std::size_t{0};
  }();
  template <class T>
  static void prepare(const T* w, T* prepared) {
    if constexpr (by_winograd && !evaluates_by_winograd_4x4) winograd::prepare(w, prepared);
    if constexpr (trains_by_winograd_4x4) winograd_4x4::prepare(w, prepared + winograd_4x4_at);
  }
  // What forward() needs of `scratch` for one sample (a block of more needs none): a
  // bordered copy of the input, then the Winograd kernel's or the output's wide planes (one_sample, below),
  // in scalars of any type: a plane rounded up to whole registers of floats, the most scalars a register holds.
  static constexpr std::size_t one_sample_scratch = [] {
    if constexpr (S != 1) return std::size_t{0};
    else {
      constexpr std::size_t bordered = Pad > 0 ? Cin * hp * wp : 0;
      if constexpr (by_winograd)
        return bordered + std::max(one_sample_winograd_kernel<float>::scratch, one_sample_winograd_kernel<double>::scratch);
      else return bordered + Cout * ((hout * wp + float_lanes - 1) / float_lanes * float_lanes);
    }
  }();

  // out[co][y][x] = sum over ci, ky, kx of w[co][ci][ky][kx] * in[ci][y*S + ky - Pad][x*S + kx - Pad]
  // then, with an epilogue, out[i] = f(i, out[i]) for f = epilogue(co): the layers
  // that follow, applied while the rows are still in cache. With split_channels,
  // the work runs as parallel tasks (for a batch too small to keep the threads
  // busy); each output's arithmetic is the same. `w`: the weights, prepare()'d where
  // prepared_size > 0. `scratch`: one_sample_scratch scalars, for a block of one sample.
  template <correlation_pass Pass = correlation_pass::evaluation, class V, class T, class Epilogue = no_epilogue>
  static void forward(const V* in, const T* w, V* out, bool split_channels, V* scratch, const Epilogue& epilogue = {}) {
    if constexpr (pooling_epilogue<Epilogue>)
      static_assert(lanes_of<V> == 1 && one_sample_pools<epilogue_pool_height<Epilogue>, epilogue_pool_width<Epilogue>>,
                    "typenet: only one sample's kernel over channels pools its outputs");
    if constexpr (lanes_of<V> == 1 && S == 1) {
      if constexpr (Pad > 0) {  // whole-plane vectors cannot skip the border: copy it in
        embed<Cin, Hin, Win, Pad, 1>(scalars_in<T>(in), scalars_in<T>(scratch));
        in = scratch;
        scratch += Cin * hp * wp;
      }
      if constexpr (by_winograd)
        one_sample_winograd_kernel<T>::forward(scalars_in<T>(in), w, scalars_in<T>(out), scalars_in<T>(scratch), epilogue);
      else
        one_sample<T>::forward(scalars_in<T>(in), w, out, scalars_in<T>(scratch), split_channels, epilogue);
    } else if constexpr ((Pass == correlation_pass::training && trains_by_winograd_4x4) || evaluates_by_winograd_4x4) {
      winograd_4x4::forward(in, w + winograd_4x4_at, out, split_channels, per_channel(epilogue));
    } else if constexpr (by_winograd) {
      winograd::forward(in, w, out, split_channels, per_channel(epilogue));
    } else {
      using channel_tiles = tiling<Cout, out_tile>;
      const auto functions = per_channel(epilogue);
      const auto row = [&](std::size_t y) {
        return [&, y]<std::size_t Q>(std::size_t co) { output_row<Q>(in, w, out, co, y, functions); };
      };
      if (split_channels && channel_tiles::count > 1)
        parallel_each(channel_tiles::count, [&](std::size_t t) {
          for (std::size_t y = 0; y < hout; ++y) channel_tiles::at(t, row(y));
        });
      else  // row by row, every channel tile: the input rows of a row stay in cache
        for (std::size_t y = 0; y < hout; ++y) channel_tiles::each(row(y));
    }
  }

  // The epilogue's function of every output channel, made once per call (a batch
  // norm's takes a square root): the tiles apply them to their sums in registers.
  template <class Epilogue>
  static auto per_channel(const Epilogue& epilogue) {
    if constexpr (std::is_same_v<Epilogue, no_epilogue>) return epilogue;
    else return [&]<std::size_t... C>(std::index_sequence<C...>) { return std::array{epilogue(C)...}; }(std::make_index_sequence<Cout>{});
  }

  // dw[co][ci][ky][kx] += sum over samples, y, x of d_out[co][y][x] * in[ci][y*S + ky][x*S + kx]
  // Tile: a few output channels x every tap of the kernel (or of one kernel row,
  // for kernels over 3x3), about weight_tile_registers accumulators; where those
  // leave room, a few input channels too (a 1x1 kernel: 10 x 2), so that the output
  // gradient, which outgrows L1 with the input, is read once per tile of them.
  // `scratch`: weight_gradient_scratch packs.
  static constexpr std::size_t weight_gradient_scratch = [] {
    if constexpr (by_winograd) return weight_gradient_winograd::transposed_rows;
    else return std::size_t{0};
  }();
  template <class V, class T>
  static void weight_gradient(const V* in, const V* d_out, T* dw, V* scratch) {
    static_assert(Pad == 0, "typenet: the weight gradient reads a stored border");
    if constexpr (by_winograd)
      if constexpr (weight_gradient_winograd::template weight_gradient_fits<V>)
        return weight_gradient_winograd::weight_gradient(in, d_out, dw, scratch);
    constexpr std::size_t rows = K * K <= 9 ? K : 1;
    constexpr std::size_t tile = std::max<std::size_t>(1, std::min<std::size_t>(Cout, weight_tile_registers / (rows * K)));
    constexpr std::size_t in_tile = std::max<std::size_t>(1, std::min<std::size_t>(Cin, row_tile_registers / (tile * rows * K)));
    tiling<Cout, tile>::each([&]<std::size_t Q>(std::size_t co) {
      tiling<Cin, in_tile>::each([&]<std::size_t C>(std::size_t ci) { weight_block<Q, C, rows>(in, d_out, dw, co, ci); });
    });
  }

 private:
  // One kernel tap of a Q x P register tile: acc[q][p] += w[q][this tap] * v[p],
  // each weight broadcast once.
  template <std::size_t Q, std::size_t P, class V, class T>
  [[gnu::always_inline]] static inline void tap(V (&acc)[Q][P], const T* w, const V (&v)[P]) {
#pragma GCC unroll 16
    for (std::size_t q = 0; q < Q; ++q) {
      const T wq = w[q * Cin * K * K];
#pragma GCC unroll 16
      for (std::size_t p = 0; p < P; ++p) acc[q][p] += wq * v[p];
    }
  }

  // A block of one sample leaves 15 of 16 lanes idle, so one sample vectorises
  // over pixels instead. A plane is computed wp wide (the input's row stride):
  // then output pixel p reads input p + ky * wp + kx, and a plane is `chunks` full
  // registers however narrow its rows (a 6 x 6 output: 3 registers, 75% of the
  // lanes used, where row by row it used 6 of 16); the wp - wout columns that
  // wrap around a row's end are dropped when the rows are copied out. A chunk
  // near the end of the input reads up to L + K - 2 scalars past it (into the
  // arena's slack); those lanes are dropped too.
  template <class T>
  struct one_sample {
    using W = pack<T, vector_bytes / sizeof(T)>;
    static constexpr std::size_t L = lanes_of<W>;
    static constexpr std::size_t chunks = (hout * wp + L - 1) / L;
    static constexpr std::size_t plane = chunks * L;  // a wide plane's stride in scratch
    // Q output channels x P registers of pixels: Cout in equal groups of up to 8.
    using channel_groups = equal_tiling<Cout, 8>;
    using pixel_tiles = tiling<chunks, std::clamp<std::size_t>(row_tile_registers / channel_groups::size, 1, chunks)>;

    // `wide`: room for Cout wide planes.
    template <class V, class Epilogue>
    static void forward(const T* in, const T* w, V* out, T* wide, bool split, const Epilogue& epilogue) {
      const auto group = [&]<std::size_t Q>(std::size_t co) { channels<Q>(in, w, out, wide, co, epilogue); };
      // Groups in parallel only where the work outweighs waking a thread: split in two,
      // ref11k's largest layer (1.3M multiply-adds, 12 us) made one image 15 us slower.
      // A helper thread kept spinning (no wake) did no better on a 2-core VM: the
      // other core then reads the 43 KB input this core has just written, line by
      // line, and the layer took 25 us split against 14 us on one core.
      constexpr bool worth_splitting = Cout * Cin * K * K * hout * wout >= (std::size_t{1} << 22);
      if (worth_splitting && split && channel_groups::count > 1)
        parallel_each(channel_groups::count, [&](std::size_t g) { channel_groups::at(g, group); });
      else
        channel_groups::each(group);
    }

    // Q channels from co, their rows copied out of the wide planes (through the epilogue).
    template <std::size_t Q, class V, class Epilogue>
    static void channels(const T* in, const T* w, V* out, T* wide, std::size_t co, const Epilogue& epilogue) {
      wide += co * plane;
      pixel_tiles::each([&]<std::size_t P>(std::size_t c) { tile<Q, P>(in, w, wide, co, c); });
      for (std::size_t q = 0; q < Q; ++q) {
        T* plane_out = scalars_in<T>(out) + (co + q) * hout * wout;
        for (std::size_t y = 0; y < hout; ++y) std::memcpy(plane_out + y * wout, wide + q * plane + y * wp, wout * sizeof(T));
        // The whole plane at once: no row ends.
        apply_epilogue(scalars_in<T>(out), epilogue, co + q, hout * wout);
      }
    }

    // Out of line: the serial and the parallel path share one copy of the unrolled code.
    template <std::size_t Q, std::size_t P>
    [[gnu::noinline]] static void tile(const T* in, const T* w, T* wide, std::size_t co, std::size_t c) {
      W acc[Q][P] = {};
      for (std::size_t ci = 0; ci < Cin; ++ci) {
        const T* wk = w + (co * Cin + ci) * K * K;
#pragma GCC unroll 16
        for (std::size_t ky = 0; ky < K; ++ky)
#pragma GCC unroll 16
          for (std::size_t kx = 0; kx < K; ++kx) {
            const T* at = in + ci * hp * wp + ky * wp + kx + c * L;
            W v[P];
#pragma GCC unroll 16
            for (std::size_t p = 0; p < P; ++p) std::memcpy(&v[p], at + p * L, sizeof(W));
            tap(acc, wk + ky * K + kx, v);
          }
      }
#pragma GCC unroll 16
      for (std::size_t q = 0; q < Q; ++q)
#pragma GCC unroll 16
        for (std::size_t p = 0; p < P; ++p) std::memcpy(wide + q * plane + (c + p) * L, &acc[q][p], sizeof(W));
    }
  };

  // Out of line: the serial and the parallel path share one copy of the unrolled code.
  template <std::size_t Q, class V, class T, class Functions>
  [[gnu::noinline]] static void output_row(const V* in, const T* w, V* out, std::size_t co, std::size_t y,
                                           const Functions& functions) {
    const bool row_inside = y * S >= Pad && y * S + K <= Hin + Pad;
    tiling<wout, pixel_tile>::each([&]<std::size_t P>(std::size_t x) {
      // Tiles whose taps all fall inside the stored input skip the border checks.
      if (row_inside && x * S >= Pad && (x + P - 1) * S + K <= Win + Pad) tile<Q, P, false>(in, w, out, co, y, x, functions);
      else tile<Q, P, true>(in, w, out, co, y, x, functions);
    });
  }

  template <std::size_t Q, std::size_t P, bool Border, class V, class T, class Functions>
  [[gnu::always_inline]] static inline void tile(const V* in, const T* w, V* out, std::size_t co, std::size_t y,
                                                 std::size_t x, const Functions& functions) {
    if constexpr (Border && Pad == 0) return;  // never called
    // Signed: near the border these fall outside the stored input.
    const std::ptrdiff_t y0 = static_cast<std::ptrdiff_t>(y * S) - static_cast<std::ptrdiff_t>(Pad);
    const std::ptrdiff_t x0 = static_cast<std::ptrdiff_t>(x * S) - static_cast<std::ptrdiff_t>(Pad);
    V acc[Q][P] = {};
    for (std::size_t ci = 0; ci < Cin; ++ci) {
#pragma GCC unroll 16
      for (std::size_t ky = 0; ky < K; ++ky) {
        const std::ptrdiff_t r = y0 + static_cast<std::ptrdiff_t>(ky);
        if (Border && (r < 0 || r >= static_cast<std::ptrdiff_t>(Hin))) continue;
        const std::ptrdiff_t row = (static_cast<std::ptrdiff_t>(ci * Hin) + r) * static_cast<std::ptrdiff_t>(Win) + x0;
        const T* wk = w + (co * Cin + ci) * K * K + ky * K;
#pragma GCC unroll 16
        for (std::size_t kx = 0; kx < K; ++kx) {
          V v[P];
#pragma GCC unroll 16
          for (std::size_t p = 0; p < P; ++p) {
            const std::ptrdiff_t c = x0 + static_cast<std::ptrdiff_t>(p * S + kx);
            v[p] = !Border || (c >= 0 && c < static_cast<std::ptrdiff_t>(Win)) ? in[row + static_cast<std::ptrdiff_t>(p * S + kx)] : V{};
          }
          tap(acc, wk + kx, v);
        }
      }
    }
#pragma GCC unroll 16
    for (std::size_t q = 0; q < Q; ++q)
#pragma GCC unroll 16
      for (std::size_t p = 0; p < P; ++p) {
        const std::size_t i = ((co + q) * hout + y) * wout + x + p;
        if constexpr (std::is_same_v<Functions, no_epilogue>) out[i] = acc[q][p];
        else out[i] = functions[co + q](i, acc[q][p]);
      }
  }

  template <std::size_t Q, std::size_t C, std::size_t Rows, class V, class T>
  static void weight_block(const V* in, const V* d_out, T* dw, std::size_t co, std::size_t ci) {
    for (std::size_t ky0 = 0; ky0 < K; ky0 += Rows) {
      V acc[Q][C][Rows * K] = {};
      for (std::size_t y = 0; y < hout; ++y) {
        const V* d = d_out + co * hout * wout + y * wout;
        const V* rows = in + (ci * Hin + y * S + ky0) * Win;
        for (std::size_t x = 0; x < wout; ++x) {
          V v[C][Rows * K];
#pragma GCC unroll 16
          for (std::size_t c = 0; c < C; ++c)
#pragma GCC unroll 16
            for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 16
              for (std::size_t kx = 0; kx < K; ++kx) v[c][r * K + kx] = rows[(c * Hin + r) * Win + x * S + kx];
#pragma GCC unroll 16
          for (std::size_t q = 0; q < Q; ++q) {
            const V g = d[q * hout * wout + x];
#pragma GCC unroll 16
            for (std::size_t c = 0; c < C; ++c)
#pragma GCC unroll 16
              for (std::size_t t = 0; t < Rows * K; ++t) acc[q][c][t] += g * v[c][t];
          }
        }
      }
      for (std::size_t q = 0; q < Q; ++q)
        for (std::size_t c = 0; c < C; ++c)
          for (std::size_t t = 0; t < Rows * K; ++t)
            dw[((co + q) * Cin + ci + c) * K * K + ky0 * K + t] += lane_sum(acc[q][c][t]);
    }
  }
};

}  // namespace typenet::detail
