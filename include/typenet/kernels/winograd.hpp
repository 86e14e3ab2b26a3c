#pragma once
// 3x3, stride-1 correlations by Winograd's minimal filtering F(m x m, 3x3)
// (winograd_transform.hpp): per output tile, the input tile of each channel
// transformed, n^2 products summed over input channels (n^2 small matrix
// products, [Cout x Cin] by [Cin] per tile), each output channel's sums
// transformed back. The transforms are elementwise over a pack's samples.
// The arithmetic is fixed, so results stay bit-identical for any thread count.
//
// A block of samples runs F(2x2) or F(4x4), forward and weight gradient. One
// sample's kernels run any F(m x m) with channels in the registers where the output
// channels (nearly) fill them, else F(2x2) with tiles in the registers; evaluation
// takes the same transform, so that one sample and a block agree bit for bit
// (correlate.hpp chooses).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "typenet/core/pack.hpp"
#include "typenet/core/parallel.hpp"
#include "typenet/kernels/epilogue.hpp"
#include "typenet/kernels/tiling.hpp"
#include "typenet/kernels/winograd_transform.hpp"

namespace typenet::detail {

// The input is Hin x Win, read as if bordered by Pad zeros; an output whose
// height or width is not a multiple of M ends in partial tiles.
template <std::size_t M, std::size_t Cin, std::size_t Hin, std::size_t Win, std::size_t Cout, std::size_t Pad>
struct winograd_3x3 {
  using F = winograd_transform<M>;
  static constexpr std::size_t n = F::n;  // an input tile's side
  static constexpr std::size_t hout = Hin + 2 * Pad - 2, wout = Win + 2 * Pad - 2;
  static constexpr std::size_t tile_rows = (hout + M - 1) / M, tile_columns = (wout + M - 1) / M;
  static constexpr std::size_t points = n * n;  // of an input tile
  // Output channels summed at once: accumulators for Cout in equal groups, with
  // room left for the input and a weight.
  using channel_groups = equal_tiling<Cout, vector_registers / 2>;

  // The weights as the products read them, prepared once per pass (a layer's state):
  // u[point][ci][co] = (G g G^T)[point] of w[co][ci], output channels adjacent, so
  // that a register of them is transformed at once. Training prepares every step
  // while the other threads wait; F(4x4)'s divisions, one lane at a time, took 2% of
  // a two-thread step.
  static constexpr std::size_t prepared_size = points * Cin * Cout;
  template <class T>
  static void prepare(const T* w, T* u) {
    for (std::size_t ci = 0; ci < Cin; ++ci)
      each_register<T>(0, Cout, [&]<class X>(std::size_t co) {
        X g[9];
        for (std::size_t k = 0; k < 9; ++k)
          for (std::size_t l = 0; l < lanes_of<X>; ++l) g[k][l] = w[((co + l) * Cin + ci) * 9 + k];
        kernel_transform<F>(g, u + ci * Cout + co, Cin * Cout);
      });
  }

  // out[co][y][x] = f_co(i, sum over ci, ky, kx of w[co][ci][ky][kx] * in[ci][y + ky - Pad][x + kx - Pad]),
  // f_co = functions[co] (as correlation::forward's epilogue), u = prepare()'s of w;
  // with split, tile rows run as parallel tasks.
  template <class V, class T, class Functions>
  static void forward(const V* in, const T* u, V* out, bool split, const Functions& functions) {
    const auto row = [&](std::size_t ty) {
      for (std::size_t tx = 0; tx < tile_columns; ++tx) {
        const bool inside = M * ty >= Pad && M * ty + n <= Hin + Pad && M * tx >= Pad && M * tx + n <= Win + Pad;
        if (inside) tile<false>(in, u, out, ty, tx, functions);
        else tile<true>(in, u, out, ty, tx, functions);
      }
    };
    if (split) parallel_each(tile_rows, row);
    else for (std::size_t ty = 0; ty < tile_rows; ++ty) row(ty);
  }

  // Weight gradient of a block of samples (Pad = 0; the input stored bordered):
  //   dw[co][ci] += G^T Z[co][ci] G,  Z[co][ci][p] = sum over tiles and samples of
  //   (A dY A^T)[co][p] * (B^T d B)[ci][p]
  // (dY: the output gradient's M x M tile). The sum over samples runs through the
  // multiply-adds: each sample's transformed input is held as registers over input
  // channels, each multiplied by one output channel's scalar, so that Z is n^2 x Cout
  // registers per register of input channels, not n^2 x Cout x Cin. The input map is
  // transposed to that layout once, n rows at a time (`scratch`: transposed_rows
  // packs): each input row once, where transposing each tile's transform would take n^2.
  template <class V>
  static constexpr bool weight_gradient_fits = Pad == 0 && lanes_of<V> > 1 && Cin % lanes_of<V> == 0;
  static constexpr std::size_t transposed_rows = n * Win * Cin;

  template <class V, class T>
  static void weight_gradient(const V* in, const V* d_out, T* dw, V* scratch) {
    static_assert(weight_gradient_fits<V>);
    constexpr std::size_t L = lanes_of<V>, C = Cin / L;  // registers of input channels
    V z[points][Cout][C] = {};
    std::size_t transposed = 0;  // input rows transposed so far
    for (std::size_t ty = 0; ty < tile_rows; ++ty) {
      for (; transposed < std::min(M * ty + n, Hin); ++transposed) transpose_row(in, transposed, scratch);
      for (std::size_t tx = 0; tx < tile_columns; ++tx) {
        // Tiles past the output's end read zeros for the input and output they lack.
        if (M * ty + M <= hout && M * tx + M <= wout) weight_tile<false>(scratch, d_out, z, ty, tx);
        else weight_tile<true>(scratch, d_out, z, ty, tx);
      }
    }
    // Z's transform, a register of input channels at a time.
    for (std::size_t co = 0; co < Cout; ++co)
      for (std::size_t c = 0; c < C; ++c) {
        T* d = dw + (co * Cin + c * L) * 9;
        separably<n, 3>([](const auto& a, auto& o) { F::kernel_gradient_step(a, o); },
                        [&](std::size_t y, std::size_t x) { return z[y * n + x][co][c]; },
                        [&](std::size_t y, std::size_t x, const V& v) {
                          for (std::size_t l = 0; l < L; ++l) d[l * 9 + y * 3 + x] += v[l];
                        });
      }
  }

  // One output tile's share of Z.
  template <bool Edge, class V, std::size_t C>
  [[gnu::noinline]] static void weight_tile(const V* rows, const V* d_out, V (&z)[points][Cout][C], std::size_t ty, std::size_t tx) {
    constexpr std::size_t L = lanes_of<V>;
    V dm[points][Cout];  // A dY A^T: lanes are samples
    for (std::size_t co = 0; co < Cout; ++co) {
      const auto dy = [&](std::size_t y, std::size_t x) {
        return !Edge || (M * ty + y < hout && M * tx + x < wout) ? d_out[(co * hout + M * ty + y) * wout + M * tx + x] : V{};
      };
      separably<M, n>([](const auto& a, auto& o) { F::output_gradient_step(a, o); }, dy,
                      [&](std::size_t y, std::size_t x, const V& v) { dm[y * n + x][co] = v; });
    }
    V d[L][C][points];  // B^T d B of each sample: registers over input channels
    const V* row[n];    // the tile's input rows, their first column
    for (std::size_t y = 0; y < n; ++y) row[y] = rows + (((M * ty + y) % n) * Win + M * tx) * L * C;
    for (std::size_t lane = 0; lane < L; ++lane)
      for (std::size_t c = 0; c < C; ++c) {
        V t[n][n];
#pragma GCC unroll 8
        for (std::size_t y = 0; y < n; ++y)
#pragma GCC unroll 8
          for (std::size_t x = 0; x < n; ++x)
            t[y][x] = !Edge || (M * ty + y < Hin && M * tx + x < Win) ? row[y][(x * L + lane) * C + c] : V{};
        input_transform<F>(t, d[lane][c]);
      }
#pragma GCC unroll 1
    for (std::size_t p = 0; p < points; ++p)
      for (std::size_t c = 0; c < C; ++c)
        channel_groups::each([&]<std::size_t Q>(std::size_t co) { accumulate<Q>(z, dm[p], d, p, c, co); });
  }

  // z[p][co + q][c] += sum over samples of dm[co + q][sample] * d[sample][c][p], for Q channels.
  template <std::size_t Q, class V, std::size_t C>
  [[gnu::always_inline]] static inline void accumulate(V (&z)[points][Cout][C], const V* dm, const V (&d)[lanes_of<V>][C][points],
                                                       std::size_t p, std::size_t c, std::size_t co) {
    using T = scalar_of<V>;
    constexpr std::size_t L = lanes_of<V>;
    V acc[Q];
#pragma GCC unroll 32
    for (std::size_t q = 0; q < Q; ++q) acc[q] = z[p][co + q][c];
    const T* scalars = scalars_in<T>(dm + co);  // sample l of channel co + q at q * L + l: one base address
    for (std::size_t lane = 0; lane < L; ++lane) {
      const V v = d[lane][c][p];
#pragma GCC unroll 32
      for (std::size_t q = 0; q < Q; ++q) acc[q] += scalars[q * L + lane] * v;
    }
#pragma GCC unroll 32
    for (std::size_t q = 0; q < Q; ++q) z[p][co + q][c] = acc[q];
  }

  // Input row r, [ci][x] packs of samples, into slot r % n of `rows` as [x][sample]
  // registers of input channels: L x L transposes, log2(L) rounds of shuffles.
  template <class V>
  static void transpose_row(const V* in, std::size_t r, V* rows) {
    constexpr std::size_t L = lanes_of<V>, C = Cin / L;
    for (std::size_t x = 0; x < Win; ++x)
      for (std::size_t c = 0; c < C; ++c) {
        V m[L];
        for (std::size_t i = 0; i < L; ++i) m[i] = in[((c * L + i) * Hin + r) * Win + x];
        transpose<1>(m);
        for (std::size_t lane = 0; lane < L; ++lane) rows[(((r % n) * Win + x) * L + lane) * C + c] = m[lane];
      }
  }

  // m[i][j] becomes m[j][i]: round B pairs rows i and i + B (i & B == 0), taking
  // lanes in blocks of B from each.
  template <std::size_t B, class V>
  [[gnu::always_inline]] static inline void transpose(V (&m)[lanes_of<V>]) {
    constexpr std::size_t L = lanes_of<V>;
    if constexpr (B < L) {
      [&]<std::size_t... J>(std::index_sequence<J...>) {
        for (std::size_t i = 0; i < L; ++i)
          if ((i & B) == 0) {
            const V a = m[i], b = m[i + B];
            m[i] = __builtin_shufflevector(a, b, ((J & B) == 0 ? J : L + J - B)...);
            m[i + B] = __builtin_shufflevector(a, b, ((J & B) == 0 ? J + B : L + J)...);
          }
      }(std::make_index_sequence<L>{});
      transpose<2 * B>(m);
    }
  }

  // One sample, where its output channels leave much of a register idle (else
  // one_sample_by_channels, below): a register holds tiles instead of samples, numbered row by row
  // across the map (tile t of a band: its tile row times tile_columns plus its
  // column), so that a small map fills its registers too. Each tile gets the
  // operations of a block's tile in the same order, so one sample's outputs are a
  // block's bit for bit. The input is stored bordered (Pad = 0 here). The map runs
  // in bands of whole tile rows, about 256 tiles each, the scratch sized for one band.
  template <class T>
  struct one_sample {
    using W = pack<T, vector_bytes / sizeof(T)>;
    static constexpr std::size_t L = lanes_of<W>;
    static_assert(M == 2, "typenet: one sample's kernel is written for F(2x2, 3x3)");
    static_assert(Pad == 0, "typenet: one sample's input is stored bordered");
    static constexpr std::size_t band_rows = std::clamp<std::size_t>(256 / tile_columns, 1, tile_rows);
    static constexpr std::size_t bands = (tile_rows + band_rows - 1) / band_rows;
    // A band's tiles, in registers, and the stride of its planes: room for the last
    // row's register, which reaches up to L - 1 tiles past the band.
    static constexpr std::size_t band_registers = (band_rows * tile_columns + L - 1) / L;
    static constexpr std::size_t stride = band_registers * L + L;
    // An input row is read as pairs of registers from its start, 2 * tile_columns + 2
    // columns and more: those past Win are the next row's or the arena's slack, and
    // reach only outputs past wout, which are dropped.
    static constexpr std::size_t pairs = (2 * tile_columns + 2 + 2 * L - 1) / (2 * L);
    static_assert(pairs * 2 * L - Win <= 2 * L, "typenet: reads past the input beyond the arena's slack (model.hpp)");
    // Q output channels x P registers of tiles, three quarters of the registers (the
    // rest hold the inputs and a weight): every channel where a band is one register
    // (16 chains of sums hide the multiply-add's latency where 8 did not), else Cout in
    // equal groups of up to 8.
    using channel_groups = equal_tiling<Cout, band_registers == 1 ? 16 : 8>;
    static constexpr std::size_t p_tile = std::clamp<std::size_t>(vector_registers * 3 / 4 / channel_groups::size, 1, band_registers);

    // Scratch, in scalars: [transformed input][sums][outputs].
    static constexpr std::size_t inputs_at = 0;
    static constexpr std::size_t sums_at = inputs_at + points * Cin * stride;
    static constexpr std::size_t outputs_at = sums_at + points * Cout * stride;
    static constexpr std::size_t scratch = outputs_at + Cout * 4 * stride;

    template <class Epilogue>
    static void forward(const T* in, const T* u, T* out, T* scratch_, const Epilogue& epilogue) {
      for (std::size_t band = 0; band < bands; ++band) {
        const std::size_t ty0 = band * band_rows, rows = std::min(band_rows, tile_rows - ty0);
        const std::size_t registers = (rows * tile_columns + L - 1) / L;
        for (std::size_t ci = 0; ci < Cin; ++ci)
          for (std::size_t ty = ty0; ty < ty0 + rows; ++ty) transform_input_row(in + ci * Hin * Win, ty, (ty - ty0) * tile_columns, scratch_, ci);
        if ((rows * tile_columns) % L != 0)  // lanes past the band's last tile: computed, dropped, kept finite
          for (std::size_t plane = 0; plane < points * Cin; ++plane) {
            T* tiles = scratch_ + inputs_at + plane * stride;
            std::fill(tiles + rows * tile_columns, tiles + registers * L, T{});
          }
        for (std::size_t p = 0; p < points; ++p)
          channel_groups::each([&]<std::size_t Q>(std::size_t co) { sum_products<Q>(u, scratch_, p, co, registers); });
        transform_outputs(scratch_, registers);
        for (std::size_t co = 0; co < Cout; ++co) store_outputs(scratch_, out + co * hout * wout, co, ty0, rows);
      }
      for (std::size_t co = 0; co < Cout; ++co) apply_epilogue(out, epilogue, co, hout * wout);
    }

   private:
    // Tile row ty of input channel ci (in: its plane) into the band's transformed
    // inputs from tile `first`: down the columns, a register of columns at a time;
    // then along the rows, a register of tiles at a time, tile tx reading columns
    // 2tx to 2tx + 3: the even and odd columns from tx and from tx + 1. All in
    // registers: through memory, the shifted reads stalled on the stores before them.
    [[gnu::noinline]] static void transform_input_row(const T* in, std::size_t ty, std::size_t first, T* scratch_, std::size_t ci) {
      W even[4][pairs + 1], odd[4][pairs + 1];  // of each transformed row; a zero register after
      for (std::size_t j = 0; j < pairs; ++j) {
        W c[4][2];
        for (std::size_t h = 0; h < 2; ++h) {
          const auto at = [&](std::size_t y) { return 2 * ty + y < Hin ? load_as<W>(in + (2 * ty + y) * Win + (2 * j + h) * L) : W{}; };
          const W column[4] = {at(0), at(1), at(2), at(3)};
          W o[4];
          F::input_step(column, o);
          for (std::size_t py = 0; py < 4; ++py) c[py][h] = o[py];
        }
        for (std::size_t py = 0; py < 4; ++py)
          [&]<std::size_t... I>(std::index_sequence<I...>) {
            even[py][j] = __builtin_shufflevector(c[py][0], c[py][1], (2 * I)...);
            odd[py][j] = __builtin_shufflevector(c[py][0], c[py][1], (2 * I + 1)...);
          }(std::make_index_sequence<L>{});
      }
      for (std::size_t py = 0; py < 4; ++py) even[py][pairs] = odd[py][pairs] = W{};
      T* inputs = scratch_ + inputs_at + ci * stride;
      for (std::size_t j = 0; j * L < tile_columns; ++j)
        for (std::size_t py = 0; py < 4; ++py) {
          const auto next = [&](const W& a, const W& b) {  // lanes 1 .. L of a then b
            return [&]<std::size_t... I>(std::index_sequence<I...>) { return W(__builtin_shufflevector(a, b, (I + 1)...)); }(
                std::make_index_sequence<L>{});
          };
          const W row[4] = {even[py][j], odd[py][j], next(even[py][j], even[py][j + 1]), next(odd[py][j], odd[py][j + 1])};
          W d[4];
          F::input_step(row, d);
          // Later tiles overwrite the lanes past this row's end.
          for (std::size_t px = 0; px < 4; ++px) store_as(inputs + (py * 4 + px) * Cin * stride + first + j * L, d[px]);
        }
    }

    // The band's sums of point p for Q channels from co, P registers of tiles at a time.
    template <std::size_t Q>
    static void sum_products(const T* u, T* scratch_, std::size_t p, std::size_t co, std::size_t registers) {
      const std::size_t full = registers / p_tile * p_tile;
      for (std::size_t r = 0; r < full; r += p_tile) products_tile<Q, p_tile>(u, scratch_, p, co, r);
      for (std::size_t r = full; r < registers; ++r) products_tile<Q, 1>(u, scratch_, p, co, r);
    }

    template <std::size_t Q, std::size_t P>
    [[gnu::noinline]] static void products_tile(const T* u, T* scratch_, std::size_t p, std::size_t co, std::size_t r) {
      u += p * Cin * Cout + co;
      const T* inputs = scratch_ + inputs_at + p * Cin * stride + r * L;
      W acc[Q][P] = {};
      for (std::size_t ci = 0; ci < Cin; ++ci) {
        W v[P];
#pragma GCC unroll 16
        for (std::size_t k = 0; k < P; ++k) v[k] = load_as<W>(inputs + ci * stride + k * L);
#pragma GCC unroll 16
        for (std::size_t q = 0; q < Q; ++q) {
          const T uq = u[ci * Cout + q];
#pragma GCC unroll 16
          for (std::size_t k = 0; k < P; ++k) acc[q][k] += uq * v[k];
        }
      }
      T* sums = scratch_ + sums_at + (p * Cout + co) * stride + r * L;
#pragma GCC unroll 16
      for (std::size_t q = 0; q < Q; ++q)
#pragma GCC unroll 16
        for (std::size_t k = 0; k < P; ++k) store_as(sums + q * stride + k * L, acc[q][k]);
    }

    // The band's sums of every output channel transformed back, a register of tiles at
    // a time, into outputs [co][dy][dx][tile]; all before store_outputs reads them back
    // at each tile row's offset, which stalled on the stores when it came right after.
    static void transform_outputs(T* scratch_, std::size_t registers) {
      for (std::size_t co = 0; co < Cout; ++co)
        for (std::size_t r = 0; r < registers; ++r) {
          W m[points];
          for (std::size_t p = 0; p < points; ++p) m[p] = load_as<W>(scratch_ + sums_at + (p * Cout + co) * stride + r * L);
          W s[2][2];
          output_transform<F>(m, s);
          for (std::size_t i = 0; i < 4; ++i) store_as(scratch_ + outputs_at + (co * 4 + i) * stride + r * L, s[i / 2][i % 2]);
        }
    }

    // Output channel co of the band into its plane: each tile row's two output rows,
    // interleaved from its tiles' left and right columns.
    [[gnu::noinline]] static void store_outputs(const T* scratch_, T* plane, std::size_t co, std::size_t ty0, std::size_t rows) {
      const T* outputs = scratch_ + outputs_at + co * 4 * stride;
      for (std::size_t ty = ty0; ty < ty0 + rows; ++ty)
        for (std::size_t dy = 0; dy < 2 && 2 * ty + dy < hout; ++dy)
          for (std::size_t tx = 0; tx < tile_columns; tx += L) {
            const std::size_t t = (ty - ty0) * tile_columns + tx;
            const W left = load_as<W>(outputs + (2 * dy) * stride + t), right = load_as<W>(outputs + (2 * dy + 1) * stride + t);
            T row[2 * L];
            [&]<std::size_t... I>(std::index_sequence<I...>) {
              store_as(row, W(__builtin_shufflevector(left, right, (I % 2 * L + I / 2)...)));
              store_as(row + L, W(__builtin_shufflevector(left, right, ((I + L) % 2 * L + (I + L) / 2)...)));
            }(std::make_index_sequence<L>{});
            T* at = plane + (2 * ty + dy) * wout + 2 * tx;
            if (tile_columns <= L) std::memcpy(at, row, wout * sizeof(T));  // one register: a constant length
            else std::memcpy(at, row, std::min(2 * L, wout - 2 * tx) * sizeof(T));
          }
    }
  };

  // One sample where its output channels (nearly) fill whole registers: a register
  // holds channels instead of tiles, so that no lane idles on a map's last tiles, for
  // any M. The input's planes are transposed to pixels of channels, and the output's
  // back. Each output gets a block's operations in the same order, bit for bit. The
  // input is stored bordered (Pad = 0 here). In ref11k this took the 24 x 24 layer
  // from 12 to about 7.5 us, by F(4x4), where the kernel over tiles left a quarter
  // of its lanes idle on 36 tiles and lost more than it saved to its transforms.
  // Lanes past Cout in the last register are computed from the next weights and
  // dropped: the weights are read up to L - 1 scalars past their end (correlate.hpp
  // keeps that slack).
  template <class T>
  struct one_sample_by_channels {
    using W = pack<T, vector_bytes / sizeof(T)>;
    static constexpr std::size_t L = lanes_of<W>;
    static_assert(Pad == 0, "typenet: one sample's input is stored bordered");
    // An input pixel's scalars and an output pixel's, in whole registers.
    static constexpr std::size_t pixel = (Cin + L - 1) / L * L, output_pixel = (Cout + L - 1) / L * L;
    // The tiles multiplied together, up to half the registers' worth: sums in
    // registers, enough chains of them to hide the multiply-add's latency. A group
    // of fewer takes a few points at once instead.
    static constexpr std::size_t group_limit = vector_registers / 2;
    using tile_groups = equal_tiling<tile_rows * tile_columns, group_limit>;
    // Scratch, in scalars from a register's alignment: [input pixels][a group's
    // transformed inputs][their sums][output pixels].
    static constexpr std::size_t pixels_at = 0;
    static constexpr std::size_t inputs_at = pixels_at + Hin * Win * pixel;
    static constexpr std::size_t sums_at = inputs_at + tile_groups::size * points * pixel;
    static constexpr std::size_t outputs_at = sums_at + tile_groups::size * points * output_pixel;
    static constexpr std::size_t scratch = outputs_at + hout * wout * output_pixel + L;

    // A max-pool of PH x PW windows (stride the window) runs on the output tiles where
    // each window lies in one tile.
    template <std::size_t PH, std::size_t PW>
    static constexpr bool pools = M % PH == 0 && M % PW == 0 && hout % PH == 0 && wout % PW == 0;

    // The epilogue runs on each output pixel's registers of channels where it can
    // (over_channels_epilogue), then its max-pool if any; else on the stored planes.
    template <class Epilogue>
    static void forward(const T* in, const T* u, T* out, T* scratch_, const Epilogue& epilogue) {
      constexpr bool over_channels = over_channels_epilogue<Epilogue, W>;
      constexpr std::size_t ph = epilogue_pool_height<Epilogue>, pw = epilogue_pool_width<Epilogue>;
      static_assert(pools<ph, pw>);
      // Each register of channels' function, made once (a batch norm's takes square roots).
      const auto functions = [&] {
        if constexpr (over_channels)
          return [&]<std::size_t... R>(std::index_sequence<R...>) {
            return std::array{epilogue.template over_channels<W>(R * L)...};
          }(std::make_index_sequence<output_pixel / L>{});
        else return no_epilogue{};
      }();
      T* s = scratch_ + (L - reinterpret_cast<std::uintptr_t>(scratch_) / sizeof(T) % L) % L;
      to_pixels(in, s + pixels_at);
      tile_groups::each([&]<std::size_t Q>(std::size_t first) {
        for (std::size_t t = 0; t < Q; ++t) transform_input(s, first + t, t);
        constexpr std::size_t together = 4 * Q <= group_limit ? 4 : 2 * Q <= group_limit ? 2 : 1;
        static_assert(points % together == 0);
        for (std::size_t p = 0; p < points; p += together)
          for (std::size_t co = 0; co < Cout; co += L) products<Q, together>(u, s, p, co);
        for (std::size_t t = 0; t < Q; ++t) transform_output<ph, pw>(s, first + t, t, functions);
      });
      constexpr std::size_t stored = hout / ph * (wout / pw);
      for (std::size_t co = 0; co < Cout; co += L) to_planes<stored>(s + outputs_at + co, out + co * stored, std::min(L, Cout - co));
      if constexpr (!over_channels)
        for (std::size_t co = 0; co < Cout; ++co) apply_epilogue(out, epilogue, co, stored);
    }

   private:
    // The input's Cin planes into pixels of `pixel` scalars, L x L at a time; channels past Cin zero.
    static void to_pixels(const T* in, T* pixels) {
      constexpr std::size_t P = Hin * Win;
      for (std::size_t c0 = 0; c0 < pixel; c0 += L) {
        std::size_t q = 0;
        for (; q + L <= P; q += L) {
          W m[L];
          for (std::size_t i = 0; i < L; ++i) m[i] = c0 + i < Cin ? load_as<W>(in + (c0 + i) * P + q) : W{};
          transpose<1>(m);
          for (std::size_t i = 0; i < L; ++i) store_as(pixels + (q + i) * pixel + c0, m[i]);
        }
        if constexpr (P % L != 0)
          for (; q < P; ++q)
            for (std::size_t i = 0; i < L; ++i) pixels[q * pixel + c0 + i] = c0 + i < Cin ? in[(c0 + i) * P + q] : T{};
      }
    }

    // The P pixels of `channels` output channels, up to a register's, into their planes.
    template <std::size_t P>
    static void to_planes(const T* pixels, T* out, std::size_t channels) {
      std::size_t q = 0;
      for (; q + L <= P; q += L) {
        W m[L];
        for (std::size_t i = 0; i < L; ++i) m[i] = load_as<W>(pixels + (q + i) * output_pixel);
        transpose<1>(m);
        for (std::size_t i = 0; i < channels; ++i) store_as(out + i * P + q, m[i]);
      }
      if constexpr (P % L != 0)
        for (; q < P; ++q)
          for (std::size_t i = 0; i < channels; ++i) out[i * P + q] = pixels[q * output_pixel + i];
    }

    // B^T d B of a tile, the group's t-th; the rows and columns past the map read zeros.
    [[gnu::noinline]] static void transform_input(T* s, std::size_t tile, std::size_t t) {
      const std::size_t ty = tile / tile_columns, tx = tile % tile_columns;
      for (std::size_t c = 0; c < pixel; c += L) {
        W d[n][n];
#pragma GCC unroll 8
        for (std::size_t y = 0; y < n; ++y)
#pragma GCC unroll 8
          for (std::size_t x = 0; x < n; ++x) {
            const std::size_t r = M * ty + y, col = M * tx + x;
            d[y][x] = r < Hin && col < Win ? load_as<W>(s + pixels_at + (r * Win + col) * pixel + c) : W{};
          }
        W e[points];
        input_transform<F>(d, e);
#pragma GCC unroll 36
        for (std::size_t p = 0; p < points; ++p) store_as(s + inputs_at + (t * points + p) * pixel + c, e[p]);
      }
    }

    // Points p to p + P - 1 of Q tiles, for output channels co to co + L - 1: each
    // transformed input a scalar broadcast against a register of weights.
    template <std::size_t Q, std::size_t P>
    [[gnu::noinline]] static void products(const T* u, T* s, std::size_t p, std::size_t co) {
      const T* w = u + p * Cin * Cout + co;
      const T* d = s + inputs_at + p * pixel;
      W acc[P][Q] = {};
      for (std::size_t ci = 0; ci < Cin; ++ci)
#pragma GCC unroll 4
        for (std::size_t j = 0; j < P; ++j) {
          const W wj = load_as<W>(w + (j * Cin + ci) * Cout);
#pragma GCC unroll 16
          for (std::size_t t = 0; t < Q; ++t) acc[j][t] += wj * d[(t * points + j) * pixel + ci];
        }
#pragma GCC unroll 4
      for (std::size_t j = 0; j < P; ++j)
#pragma GCC unroll 16
        for (std::size_t t = 0; t < Q; ++t) store_as(s + sums_at + (t * points + p + j) * output_pixel + co, acc[j][t]);
    }

    // A^T m A of a tile, the group's t-th, into the output pixels inside the map; with
    // functions, each register of channels through its function, then the maximum of
    // each PH x PW window (in window order, as the max-pool takes it) into its pixel
    // of the pooled map.
    template <std::size_t PH, std::size_t PW, class Functions>
    [[gnu::noinline]] static void transform_output(T* s, std::size_t tile, std::size_t t, const Functions& functions) {
      const std::size_t ty = tile / tile_columns, tx = tile % tile_columns;
      for (std::size_t co = 0; co < Cout; co += L) {
        W m[points];
#pragma GCC unroll 36
        for (std::size_t p = 0; p < points; ++p) m[p] = load_as<W>(s + sums_at + (t * points + p) * output_pixel + co);
        W o[M][M];
        output_transform<F>(m, o);
        if constexpr (!std::is_same_v<Functions, no_epilogue>) {
          const auto& f = functions[co / L];
#pragma GCC unroll 4
          for (std::size_t dy = 0; dy < M; ++dy)
#pragma GCC unroll 4
            for (std::size_t dx = 0; dx < M; ++dx) o[dy][dx] = f(o[dy][dx]);
        }
#pragma GCC unroll 4
        for (std::size_t wy = 0; wy < M / PH; ++wy)
#pragma GCC unroll 4
          for (std::size_t wx = 0; wx < M / PW; ++wx) {
            const std::size_t y = M * ty + PH * wy, x = M * tx + PW * wx;  // the window's corner
            if (y >= hout || x >= wout) continue;
            W r = o[PH * wy][PW * wx];
#pragma GCC unroll 16
            for (std::size_t i = 1; i < PH * PW; ++i) r = running_max(r, o[PH * wy + i / PW][PW * wx + i % PW]);
            store_as(s + outputs_at + (y / PH * (wout / PW) + x / PW) * output_pixel + co, r);
          }
      }
    }
  };

 private:
  // One output tile: its input tiles transformed, the n^2 products summed over input
  // channels, each output channel's sums transformed back and stored.
  template <bool Border, class V, class T, class Functions>
  [[gnu::noinline]] static void tile(const V* in, const T* u, V* out, std::size_t ty, std::size_t tx,
                                     const Functions& functions) {
    // B^T d B of each input channel, then, in place, the sums of products of each output
    // channel: a separate array for them made the F(2x2) tile 30% slower, its 16 KB more
    // than L1 holds beside the input, the output and the weights.
    V d[std::max(Cin, Cout)][points];
    // Signed: near the border these fall outside the stored input.
    const std::ptrdiff_t y0 = static_cast<std::ptrdiff_t>(M * ty) - static_cast<std::ptrdiff_t>(Pad);
    const std::ptrdiff_t x0 = static_cast<std::ptrdiff_t>(M * tx) - static_cast<std::ptrdiff_t>(Pad);
    for (std::size_t ci = 0; ci < Cin; ++ci) {
      V t[n][n];
#pragma GCC unroll 8
      for (std::size_t y = 0; y < n; ++y)
#pragma GCC unroll 8
        for (std::size_t x = 0; x < n; ++x) {
          const std::ptrdiff_t r = y0 + static_cast<std::ptrdiff_t>(y), c = x0 + static_cast<std::ptrdiff_t>(x);
          const bool stored = !Border || (r >= 0 && r < static_cast<std::ptrdiff_t>(Hin) && c >= 0 &&
                                          c < static_cast<std::ptrdiff_t>(Win));
          t[y][x] = stored ? in[(static_cast<std::ptrdiff_t>(ci * Hin) + r) * static_cast<std::ptrdiff_t>(Win) + c] : V{};
        }
      input_transform<F>(t, d[ci]);
    }
#pragma GCC unroll 1
    for (std::size_t p = 0; p < points; ++p) {
      // Point p of every input channel is read before point p of any output channel is
      // written, in registers where one group holds every output channel.
      if constexpr (channel_groups::count == 1) {
        products<Cout>(d, u, p, 0, [&](std::size_t co) -> V& { return d[co][p]; });
      } else {
        V sums[Cout];
        channel_groups::each([&]<std::size_t Q>(std::size_t co) { products<Q>(d, u, p, co, [&](std::size_t c) -> V& { return sums[c]; }); });
        for (std::size_t co = 0; co < Cout; ++co) d[co][p] = sums[co];
      }
    }
    const std::size_t y = M * ty, x = M * tx;
    for (std::size_t co = 0; co < Cout; ++co) {
      V s[M][M];
      output_transform<F>(d[co], s);
#pragma GCC unroll 4
      for (std::size_t dy = 0; dy < M; ++dy)
#pragma GCC unroll 4
        for (std::size_t dx = 0; dx < M; ++dx)
          if ((hout % M == 0 || y + dy < hout) && (wout % M == 0 || x + dx < wout)) {  // a partial tile's outputs past the map
            const std::size_t i = (co * hout + y + dy) * wout + x + dx;
            if constexpr (std::is_same_v<Functions, no_epilogue>) out[i] = s[dy][dx];
            else out[i] = functions[co](i, s[dy][dx]);
          }
    }
  }

  // sum(co) = sum over ci of u[p][ci][co] * d[ci][p], for Q channels from co.
  template <std::size_t Q, class V, class T, std::size_t N, class Sum>
  [[gnu::always_inline]] static inline void products(const V (&d)[N][points], const T* u, std::size_t p, std::size_t co,
                                                     const Sum& sum) {
    V acc[Q] = {};
    for (std::size_t ci = 0; ci < Cin; ++ci) {
      const V v = d[ci][p];
      const T* uc = u + (p * Cin + ci) * Cout + co;
#pragma GCC unroll 32
      for (std::size_t q = 0; q < Q; ++q) acc[q] += uc[q] * v;
    }
#pragma GCC unroll 32
    for (std::size_t q = 0; q < Q; ++q) sum(co + q) = acc[q];
  }
};

}  // namespace typenet::detail
