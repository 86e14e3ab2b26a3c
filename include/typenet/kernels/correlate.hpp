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
  using one_sample_winograd = winograd_2x2_3x3<Cin, hp, wp, Cout, 0>;
  // Weights as forward() takes them: prepare()'s, for Winograd's transform; else as they are.
  static constexpr std::size_t prepared_size = [] {
    if constexpr (by_winograd) return winograd_2x2_3x3<Cin, Hin, Win, Cout, Pad>::prepared_size;
    else return std::size_t{0};
  }();
  template <class T>
  static void prepare(const T* w, T* prepared) {
    if constexpr (by_winograd) winograd_2x2_3x3<Cin, Hin, Win, Cout, Pad>::prepare(w, prepared);
  }
  static constexpr std::size_t winograd_scratch = [] {
    if constexpr (by_winograd)
      return std::max(one_sample_winograd::template one_sample<float>::scratch,
                      one_sample_winograd::template one_sample<double>::scratch);
    else return std::size_t{0};
  }();
  static constexpr std::size_t hout = (hp - K) / S + 1;
  static constexpr std::size_t wout = (wp - K) / S + 1;
  // What forward() needs of `scratch` for one sample (a block of more needs none): a
  // bordered copy of the input, then Winograd's band or the output's wide planes (one_sample, below),
  // in scalars of any type: a plane rounded up to whole registers of floats, the most scalars a register holds.
  static constexpr std::size_t float_lanes = vector_bytes / sizeof(float);
  static constexpr std::size_t one_sample_scratch =
      S != 1        ? 0
      : by_winograd ? (Pad > 0 ? Cin * hp * wp : 0) + winograd_scratch
                    : (Pad > 0 ? Cin * hp * wp : 0) + Cout * ((hout * wp + float_lanes - 1) / float_lanes * float_lanes);

  // out[co][y][x] = sum over ci, ky, kx of w[co][ci][ky][kx] * in[ci][y*S + ky - Pad][x*S + kx - Pad]
  // then, with an epilogue, out[i] = f(i, out[i]) for f = epilogue(co): the layers
  // that follow, applied while the rows are still in cache. With split_channels,
  // the work runs as parallel tasks (for a batch too small to keep the threads
  // busy); each output's arithmetic is the same. `w`: the weights, prepare()'d where
  // prepared_size > 0. `scratch`: one_sample_scratch scalars, for a block of one sample.
  template <class V, class T, class Epilogue = no_epilogue>
  static void forward(const V* in, const T* w, V* out, bool split_channels, V* scratch, const Epilogue& epilogue = {}) {
    if constexpr (lanes_of<V> == 1 && S == 1) {
      if constexpr (Pad > 0) {  // whole-plane vectors cannot skip the border: copy it in
        embed<Cin, Hin, Win, Pad, 1>(scalars_in<T>(in), scalars_in<T>(scratch));
        in = scratch;
        scratch += Cin * hp * wp;
      }
      if constexpr (by_winograd)
        one_sample_winograd::template one_sample<T>::forward(scalars_in<T>(in), w, scalars_in<T>(out), scalars_in<T>(scratch), epilogue);
      else
        one_sample<T>::forward(scalars_in<T>(in), w, out, scalars_in<T>(scratch), split_channels, epilogue);
    } else if constexpr (by_winograd) {
      winograd_2x2_3x3<Cin, Hin, Win, Cout, Pad>::forward(in, w, out, split_channels, per_channel(epilogue));
    } else {
      constexpr std::size_t tiles = (Cout + out_tile - 1) / out_tile;
      const auto functions = per_channel(epilogue);
      const auto run = [&](std::size_t t, std::size_t y) {
        if constexpr (Cout % out_tile != 0)
          if (t + 1 == tiles) return output_row<Cout % out_tile>(in, w, out, t * out_tile, y, functions);
        output_row<out_tile>(in, w, out, t * out_tile, y, functions);
      };
      if (split_channels && tiles > 1)
        parallel_each(tiles, [&](std::size_t t) {
          for (std::size_t y = 0; y < hout; ++y) run(t, y);
        });
      else  // row by row, every channel tile: the input rows of a row stay in cache
        for (std::size_t y = 0; y < hout; ++y)
          for (std::size_t t = 0; t < tiles; ++t) run(t, y);
    }
  }

  // The epilogue's function of every output channel, made once per call (a batch
  // norm's takes a square root): the tiles apply them to their sums in registers.
  template <class Epilogue>
  static auto per_channel(const Epilogue& epilogue) {
    if constexpr (std::is_same_v<Epilogue, no_epilogue>) return epilogue;
    else return [&]<std::size_t... C>(std::index_sequence<C...>) { return std::array{epilogue(C)...}; }(std::make_index_sequence<Cout>{});
  }

  // Rows [y0, y1) of output channel c through the epilogue, in place (one sample's
  // planes, copied out of the wide ones).
  template <class V, class Epilogue>
  static void finish(V* out, const Epilogue& epilogue, std::size_t c, std::size_t y0, std::size_t y1) {
    if constexpr (!std::is_same_v<Epilogue, no_epilogue>) {
      const auto f = epilogue(c);
      each_element<V>((c * hout + y0) * wout, (c * hout + y1) * wout,
                      [&]<class X>(std::size_t i) { store_as(out + i, f(i, load_as<X>(out + i))); });
    }
  }

  // dw[co][ci][ky][kx] += sum over samples, y, x of d_out[co][y][x] * in[ci][y*S + ky][x*S + kx]
  // Tile: a few output channels x every tap of the kernel (or of one kernel row,
  // for kernels over 3x3), about weight_tile_registers accumulators.
  // `scratch`: weight_gradient_scratch packs.
  static constexpr std::size_t weight_gradient_scratch = [] {
    if constexpr (by_winograd) return winograd_2x2_3x3<Cin, Hin, Win, Cout, Pad>::transposed_rows;
    else return std::size_t{0};
  }();
  template <class V, class T>
  static void weight_gradient(const V* in, const V* d_out, T* dw, V* scratch) {
    static_assert(Pad == 0, "typenet: the weight gradient reads a stored border");
    if constexpr (by_winograd) {
      using winograd = winograd_2x2_3x3<Cin, Hin, Win, Cout, Pad>;
      if constexpr (winograd::template weight_gradient_fits<V>) return winograd::weight_gradient(in, d_out, dw, scratch);
    }
    constexpr std::size_t rows = K * K <= 9 ? K : 1;
    constexpr std::size_t tile = std::max<std::size_t>(1, std::min<std::size_t>(Cout, weight_tile_registers / (rows * K)));
    constexpr std::size_t co_full = Cout / tile * tile;
    for (std::size_t co = 0; co < co_full; co += tile) weight_block<tile, rows>(in, d_out, dw, co);
    if constexpr (Cout % tile != 0) weight_block<Cout % tile, rows>(in, d_out, dw, co_full);
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
    static constexpr std::size_t groups = (Cout + 7) / 8;
    static constexpr std::size_t q_tile = (Cout + groups - 1) / groups;
    static constexpr std::size_t p_tile = std::clamp<std::size_t>(row_tile_registers / q_tile, 1, chunks);

    // `wide`: room for Cout wide planes.
    template <class V, class Epilogue>
    static void forward(const T* in, const T* w, V* out, T* wide, bool split, const Epilogue& epilogue) {
      const auto group = [&](std::size_t g) {
        if constexpr (Cout % q_tile != 0)
          if (g + 1 == groups) return channels<Cout % q_tile>(in, w, out, wide, g * q_tile, epilogue);
        channels<q_tile>(in, w, out, wide, g * q_tile, epilogue);
      };
      // Groups in parallel only where the work outweighs waking a thread: split in two,
      // ref11k's largest layer (1.3M multiply-adds, 12 us) made one image 15 us slower.
      // A helper thread kept spinning (no wake) did no better on a 2-core VM: the
      // other core then reads the 43 KB input this core has just written, line by
      // line, and the layer took 25 us split against 14 us on one core.
      constexpr bool worth_splitting = Cout * Cin * K * K * hout * wout >= (std::size_t{1} << 22);
      if (worth_splitting && split && groups > 1)
        parallel_each(groups, group);
      else
        for (std::size_t g = 0; g < groups; ++g) group(g);
    }

    // Q channels from co, their rows copied out of the wide planes (through the epilogue).
    template <std::size_t Q, class V, class Epilogue>
    static void channels(const T* in, const T* w, V* out, T* wide, std::size_t co, const Epilogue& epilogue) {
      wide += co * plane;
      constexpr std::size_t full = chunks / p_tile * p_tile;
      for (std::size_t c = 0; c < full; c += p_tile) tile<Q, p_tile>(in, w, wide, co, c);
      if constexpr (full != chunks) tile<Q, chunks - full>(in, w, wide, co, full);
      for (std::size_t q = 0; q < Q; ++q) {
        T* plane_out = scalars_in<T>(out) + (co + q) * hout * wout;
        for (std::size_t y = 0; y < hout; ++y) std::memcpy(plane_out + y * wout, wide + q * plane + y * wp, wout * sizeof(T));
        finish(out, epilogue, co + q, 0, hout);  // the whole plane at once: no row ends
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
    constexpr std::size_t x_full = wout / pixel_tile * pixel_tile;
    const bool row_inside = y * S >= Pad && y * S + K <= Hin + Pad;
    // Tiles whose taps all fall inside the stored input skip the border checks.
    const auto inside = [&](std::size_t x, std::size_t p) { return row_inside && x * S >= Pad && (x + p - 1) * S + K <= Win + Pad; };
    for (std::size_t x = 0; x < x_full; x += pixel_tile) {
      if (inside(x, pixel_tile)) tile<Q, pixel_tile, false>(in, w, out, co, y, x, functions);
      else tile<Q, pixel_tile, true>(in, w, out, co, y, x, functions);
    }
    if constexpr (wout % pixel_tile != 0) {
      if (inside(x_full, wout % pixel_tile)) tile<Q, wout % pixel_tile, false>(in, w, out, co, y, x_full, functions);
      else tile<Q, wout % pixel_tile, true>(in, w, out, co, y, x_full, functions);
    }
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

  template <std::size_t Q, std::size_t Rows, class V, class T>
  static void weight_block(const V* in, const V* d_out, T* dw, std::size_t co) {
    for (std::size_t ci = 0; ci < Cin; ++ci) {
      for (std::size_t ky0 = 0; ky0 < K; ky0 += Rows) {
        V acc[Q][Rows * K] = {};
        for (std::size_t y = 0; y < hout; ++y) {
          const V* d = d_out + co * hout * wout + y * wout;
          const V* rows = in + (ci * Hin + y * S + ky0) * Win;
          for (std::size_t x = 0; x < wout; ++x) {
            V g[Q];
#pragma GCC unroll 16
            for (std::size_t q = 0; q < Q; ++q) g[q] = d[q * hout * wout + x];
#pragma GCC unroll 16
            for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 16
              for (std::size_t kx = 0; kx < K; ++kx) {
                const V v = rows[r * Win + x * S + kx];
#pragma GCC unroll 16
                for (std::size_t q = 0; q < Q; ++q) acc[q][r * K + kx] += g[q] * v;
              }
          }
        }
        for (std::size_t q = 0; q < Q; ++q)
          for (std::size_t t = 0; t < Rows * K; ++t) dw[((co + q) * Cin + ci) * K * K + ky0 * K + t] += lane_sum(acc[q][t]);
      }
    }
  }
};

}  // namespace typenet::detail
