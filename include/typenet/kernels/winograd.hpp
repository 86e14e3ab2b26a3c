#pragma once
// Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2015): a 2x2 tile of a 3x3 correlation's output
// from the 4x4 input tile under it with 16 multiplies per pair of channels, where
// the direct sum takes 36.
//
//   Y = A^T [ (G g G^T) . (B^T d B) ] A     (. elementwise, each 4x4)
//
// The transforms are additions (and halves, in G), elementwise over a pack's
// samples; the 16 products, summed over input channels, are 16 small matrix
// products, [Cout x Cin] by [Cin] per tile. In fp32 the result differs from the
// direct sum's in its last bits, not more: the transforms' coefficients are 0,
// +-1 and 1/2. The arithmetic is fixed, so results stay bit-identical for any
// thread count.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#include "typenet/core/pack.hpp"
#include "typenet/core/parallel.hpp"
#include "typenet/kernels/epilogue.hpp"
#include "typenet/kernels/tiling.hpp"

namespace typenet::detail {

// The input is Hin x Win, read as if bordered by Pad zeros; an output of odd
// height or width ends in half tiles.
template <std::size_t Cin, std::size_t Hin, std::size_t Win, std::size_t Cout, std::size_t Pad>
struct winograd_2x2_3x3 {
  static constexpr std::size_t hout = Hin + 2 * Pad - 2, wout = Win + 2 * Pad - 2;
  static constexpr std::size_t tile_rows = (hout + 1) / 2, tile_columns = (wout + 1) / 2;
  static constexpr std::size_t points = 16;  // of a 4x4 tile
  // Output channels summed at once: accumulators for Cout in equal groups, with
  // room left for the input and a weight.
  using channel_groups = equal_tiling<Cout, vector_registers / 2>;

  // The weights as the products read them, prepared once per pass (a layer's state):
  // u[point][ci][co] = (G g G^T)[point] of w[co][ci], output channels adjacent.
  static constexpr std::size_t prepared_size = points * Cin * Cout;
  template <class T>
  static void prepare(const T* w, T* u) {
    // Output channels innermost, as u stores them.
    for (std::size_t ci = 0; ci < Cin; ++ci)
      for (std::size_t co = 0; co < Cout; ++co) {
        const T* g = w + (co * Cin + ci) * 9;
        T gg[4][3];  // G g
        for (std::size_t x = 0; x < 3; ++x) {
          gg[0][x] = g[x];
          gg[1][x] = T(0.5) * (g[x] + g[3 + x] + g[6 + x]);
          gg[2][x] = T(0.5) * (g[x] - g[3 + x] + g[6 + x]);
          gg[3][x] = g[6 + x];
        }
        for (std::size_t y = 0; y < 4; ++y) {
          u[((y * 4 + 0) * Cin + ci) * Cout + co] = gg[y][0];
          u[((y * 4 + 1) * Cin + ci) * Cout + co] = T(0.5) * (gg[y][0] + gg[y][1] + gg[y][2]);
          u[((y * 4 + 2) * Cin + ci) * Cout + co] = T(0.5) * (gg[y][0] - gg[y][1] + gg[y][2]);
          u[((y * 4 + 3) * Cin + ci) * Cout + co] = gg[y][2];
        }
      }
  }

  // out[co][y][x] = f_co(i, sum over ci, ky, kx of w[co][ci][ky][kx] * in[ci][y + ky - Pad][x + kx - Pad]),
  // f_co = functions[co] (as correlation::forward's epilogue), u = prepare()'s of w;
  // with split, tile rows run as parallel tasks.
  template <class V, class T, class Functions>
  static void forward(const V* in, const T* u, V* out, bool split, const Functions& functions) {
    const auto row = [&](std::size_t ty) {
      for (std::size_t tx = 0; tx < tile_columns; ++tx) {
        const bool inside = 2 * ty >= Pad && 2 * ty + 4 <= Hin + Pad && 2 * tx >= Pad && 2 * tx + 4 <= Win + Pad;
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
  // (dY: the output gradient's 2x2 tile). The sum over samples runs through the
  // multiply-adds: each sample's transformed input is held as registers over input
  // channels, each multiplied by one output channel's scalar, so that Z is 16 x Cout
  // registers per register of input channels, not 16 x Cout x Cin. The input map is
  // transposed to that layout once, four rows at a time (`scratch`: transposed_rows
  // packs): about 5 transposes a tile, where transposing each tile's transform would take 16.
  template <class V>
  static constexpr bool weight_gradient_fits = Pad == 0 && lanes_of<V> > 1 && Cin % lanes_of<V> == 0;
  static constexpr std::size_t transposed_rows = 4 * Win * Cin;

  template <class V, class T>
  static void weight_gradient(const V* in, const V* d_out, T* dw, V* scratch) {
    static_assert(weight_gradient_fits<V>);
    constexpr std::size_t L = lanes_of<V>, C = Cin / L;  // registers of input channels
    V z[points][Cout][C] = {};
    std::size_t transposed = 0;  // input rows transposed so far
    for (std::size_t ty = 0; ty < tile_rows; ++ty) {
      for (; transposed < std::min(2 * ty + 4, Hin); ++transposed) transpose_row(in, transposed, scratch);
      for (std::size_t tx = 0; tx < tile_columns; ++tx) {
        // Tiles past the output's odd end read zeros for the input and output they lack.
        if (2 * ty + 2 <= hout && 2 * tx + 2 <= wout) weight_tile<false>(scratch, d_out, z, ty, tx);
        else weight_tile<true>(scratch, d_out, z, ty, tx);
      }
    }
    for (std::size_t co = 0; co < Cout; ++co)
      for (std::size_t ci = 0; ci < Cin; ++ci) {
        T g[4][4];  // G^T Z
        for (std::size_t x = 0; x < 4; ++x) {
          const auto at = [&](std::size_t y) { return z[y * 4 + x][co][ci / L][ci % L]; };
          g[0][x] = at(0) + T(0.5) * (at(1) + at(2));
          g[1][x] = T(0.5) * (at(1) - at(2));
          g[2][x] = T(0.5) * (at(1) + at(2)) + at(3);
        }
        T* d = dw + (co * Cin + ci) * 9;
        for (std::size_t y = 0; y < 3; ++y) {
          d[y * 3 + 0] += g[y][0] + T(0.5) * (g[y][1] + g[y][2]);
          d[y * 3 + 1] += T(0.5) * (g[y][1] - g[y][2]);
          d[y * 3 + 2] += T(0.5) * (g[y][1] + g[y][2]) + g[y][3];
        }
      }
  }

  // One output tile's share of Z.
  template <bool Edge, class V, std::size_t C>
  [[gnu::noinline]] static void weight_tile(const V* rows, const V* d_out, V (&z)[points][Cout][C], std::size_t ty, std::size_t tx) {
    using T = scalar_of<V>;
    constexpr std::size_t L = lanes_of<V>;
    V dm[points][Cout];  // A dY A^T, A^T = [1 1 1 0; 0 1 -1 -1]: lanes are samples
    for (std::size_t co = 0; co < Cout; ++co) {
      const auto dy = [&](std::size_t y, std::size_t x) {
        return !Edge || (2 * ty + y < hout && 2 * tx + x < wout) ? d_out[(co * hout + 2 * ty + y) * wout + 2 * tx + x] : V{};
      };
      const V r[4][2] = {{dy(0, 0), dy(0, 1)}, {dy(0, 0) + dy(1, 0), dy(0, 1) + dy(1, 1)},
                         {dy(0, 0) - dy(1, 0), dy(0, 1) - dy(1, 1)}, {-dy(1, 0), -dy(1, 1)}};
      for (std::size_t y = 0; y < 4; ++y) {
        dm[y * 4 + 0][co] = r[y][0];
        dm[y * 4 + 1][co] = r[y][0] + r[y][1];
        dm[y * 4 + 2][co] = r[y][0] - r[y][1];
        dm[y * 4 + 3][co] = -r[y][1];
      }
    }
    V d[L][points][C];  // B^T d B of each sample: registers over input channels
    const V* row[4];    // the tile's input rows, their first column
    for (std::size_t y = 0; y < 4; ++y) row[y] = rows + (((2 * ty + y) % 4) * Win + 2 * tx) * L * C;
    for (std::size_t lane = 0; lane < L; ++lane)
      for (std::size_t c = 0; c < C; ++c) {
        V t[4][4];
#pragma GCC unroll 4
        for (std::size_t y = 0; y < 4; ++y)
#pragma GCC unroll 4
          for (std::size_t x = 0; x < 4; ++x)
            t[y][x] = !Edge || (2 * ty + y < Hin && 2 * tx + x < Win) ? row[y][(x * L + lane) * C + c] : V{};
        V e[points];
        input_transform(t, e);
        for (std::size_t p = 0; p < points; ++p) d[lane][p][c] = e[p];
      }
#pragma GCC unroll 1
    for (std::size_t p = 0; p < points; ++p)
      for (std::size_t c = 0; c < C; ++c)
        channel_groups::each([&]<std::size_t Q>(std::size_t co) { accumulate<Q>(z, dm[p], d, p, c, co); });
  }

  // z[p][co + q][c] += sum over samples of dm[co + q][sample] * d[sample][p][c], for Q channels.
  template <std::size_t Q, class V, std::size_t C>
  [[gnu::always_inline]] static inline void accumulate(V (&z)[points][Cout][C], const V* dm, const V (&d)[lanes_of<V>][points][C],
                                                       std::size_t p, std::size_t c, std::size_t co) {
    using T = scalar_of<V>;
    constexpr std::size_t L = lanes_of<V>;
    V acc[Q];
#pragma GCC unroll 32
    for (std::size_t q = 0; q < Q; ++q) acc[q] = z[p][co + q][c];
    const T* scalars = scalars_in<T>(dm + co);  // sample l of channel co + q at q * L + l: one base address
    for (std::size_t lane = 0; lane < L; ++lane) {
      const V v = d[lane][p][c];
#pragma GCC unroll 32
      for (std::size_t q = 0; q < Q; ++q) acc[q] += scalars[q * L + lane] * v;
    }
#pragma GCC unroll 32
    for (std::size_t q = 0; q < Q; ++q) z[p][co + q][c] = acc[q];
  }

  // Input row r, [ci][x] packs of samples, into slot r % 4 of `rows` as [x][sample]
  // registers of input channels: L x L transposes, log2(L) rounds of shuffles.
  template <class V>
  static void transpose_row(const V* in, std::size_t r, V* rows) {
    constexpr std::size_t L = lanes_of<V>, C = Cin / L;
    for (std::size_t x = 0; x < Win; ++x)
      for (std::size_t c = 0; c < C; ++c) {
        V m[L];
        for (std::size_t i = 0; i < L; ++i) m[i] = in[((c * L + i) * Hin + r) * Win + x];
        transpose<1>(m);
        for (std::size_t lane = 0; lane < L; ++lane) rows[(((r % 4) * Win + x) * L + lane) * C + c] = m[lane];
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

  // One sample: a register holds tiles instead of samples, numbered row by row
  // across the map (tile t of a band: its tile row times tile_columns plus its
  // column), so that a small map fills its registers too. Each tile gets the
  // operations of a block's tile in the same order, so one sample's outputs are a
  // block's bit for bit. The input is stored bordered (Pad = 0 here). The map runs
  // in bands of whole tile rows, about 256 tiles each, the scratch sized for one band.
  template <class T>
  struct one_sample {
    using W = pack<T, vector_bytes / sizeof(T)>;
    static constexpr std::size_t L = lanes_of<W>;
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
      for (std::size_t co = 0; co < Cout; ++co) apply_epilogue(out, epilogue, co, co * hout * wout, (co + 1) * hout * wout);
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
          input_step(at(0), at(1), at(2), at(3), c[0][h], c[1][h], c[2][h], c[3][h]);
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
          W d[4];
          input_step(even[py][j], odd[py][j], next(even[py][j], even[py][j + 1]), next(odd[py][j], odd[py][j + 1]), d[0], d[1],
                     d[2], d[3]);
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
          output_transform(m, s);
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

 private:
  // One output tile: its input tiles transformed, the 16 products summed over input
  // channels, each output channel's sums transformed back and stored.
  template <bool Border, class V, class T, class Functions>
  [[gnu::noinline]] static void tile(const V* in, const T* u, V* out, std::size_t ty, std::size_t tx,
                                     const Functions& functions) {
    // B^T d B of each input channel, then, in place, the sums of products of each output
    // channel: a separate array for them made the tile 30% slower, its 16 KB more
    // than L1 holds beside the input, the output and the weights.
    V d[std::max(Cin, Cout)][points];
    // Signed: near the border these fall outside the stored input.
    const std::ptrdiff_t y0 = static_cast<std::ptrdiff_t>(2 * ty) - static_cast<std::ptrdiff_t>(Pad);
    const std::ptrdiff_t x0 = static_cast<std::ptrdiff_t>(2 * tx) - static_cast<std::ptrdiff_t>(Pad);
    for (std::size_t ci = 0; ci < Cin; ++ci) {
      V t[4][4];
#pragma GCC unroll 4
      for (std::size_t y = 0; y < 4; ++y)
#pragma GCC unroll 4
        for (std::size_t x = 0; x < 4; ++x) {
          const std::ptrdiff_t r = y0 + static_cast<std::ptrdiff_t>(y), c = x0 + static_cast<std::ptrdiff_t>(x);
          const bool stored = !Border || (r >= 0 && r < static_cast<std::ptrdiff_t>(Hin) && c >= 0 &&
                                          c < static_cast<std::ptrdiff_t>(Win));
          t[y][x] = stored ? in[(static_cast<std::ptrdiff_t>(ci * Hin) + r) * static_cast<std::ptrdiff_t>(Win) + c] : V{};
        }
      input_transform(t, d[ci]);
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
    const std::size_t y = 2 * ty, x = 2 * tx;
    for (std::size_t co = 0; co < Cout; ++co) {
      V s[2][2];
      output_transform(d[co], s);
      const auto store = [&](std::size_t dy, std::size_t dx) {
        const std::size_t i = (co * hout + y + dy) * wout + x + dx;
        if constexpr (std::is_same_v<Functions, no_epilogue>) out[i] = s[dy][dx];
        else out[i] = functions[co](i, s[dy][dx]);
      };
      store(0, 0);
      if (wout % 2 == 0 || x + 1 < wout) store(0, 1);
      if (hout % 2 == 0 || y + 1 < hout) {
        store(1, 0);
        if (wout % 2 == 0 || x + 1 < wout) store(1, 1);
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

  // B^T t B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]: down the columns, then along the rows.
  template <class V>
  [[gnu::always_inline]] static inline void input_transform(const V (&t)[4][4], V (&d)[points]) {
    V c[4][4];  // B^T t
#pragma GCC unroll 4
    for (std::size_t x = 0; x < 4; ++x) input_step(t[0][x], t[1][x], t[2][x], t[3][x], c[0][x], c[1][x], c[2][x], c[3][x]);
#pragma GCC unroll 4
    for (std::size_t y = 0; y < 4; ++y)
      input_step(c[y][0], c[y][1], c[y][2], c[y][3], d[y * 4 + 0], d[y * 4 + 1], d[y * 4 + 2], d[y * 4 + 3]);
  }

  // A^T m A, A^T = [1 1 1 0; 0 1 -1 -1]: down the columns, then along the rows.
  template <class V>
  [[gnu::always_inline]] static inline void output_transform(const V (&m)[points], V (&s)[2][2]) {
    V r[2][4];  // A^T m
#pragma GCC unroll 4
    for (std::size_t x = 0; x < 4; ++x) output_step(m[x], m[4 + x], m[8 + x], m[12 + x], r[0][x], r[1][x]);
#pragma GCC unroll 2
    for (std::size_t y = 0; y < 2; ++y) output_step(r[y][0], r[y][1], r[y][2], r[y][3], s[y][0], s[y][1]);
  }

  // The transforms' steps, B^T and A^T of four values: on a pack of samples, or on a
  // register of tiles (one_sample), the same operations in the same order.
  template <class X>
  [[gnu::always_inline]] static inline void input_step(X a0, X a1, X a2, X a3, X& o0, X& o1, X& o2, X& o3) {
    o0 = a0 - a2;
    o1 = a1 + a2;
    o2 = a2 - a1;
    o3 = a1 - a3;
  }
  template <class X>
  [[gnu::always_inline]] static inline void output_step(X a0, X a1, X a2, X a3, X& o0, X& o1) {
    o0 = a0 + a1 + a2;
    o1 = a1 - a2 - a3;
  }
};

}  // namespace typenet::detail
