// The labelled grid: tiles scaled up, captions in the 5x7 font, then a grey PNG.
#include "typenet/io/image_grid.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "typenet/io/bitmap_font.hpp"
#include "typenet/io/file_error.hpp"
#include "typenet/io/png.hpp"

namespace typenet {

grey_image render_labelled_grid(std::span<const float> images, std::size_t n, std::size_t rows, std::size_t cols,
                                std::span<const std::string> captions, const grid_options& options) {
  if (n == 0 || rows == 0 || cols == 0 || options.columns == 0 || options.scale == 0)
    throw std::invalid_argument("a grid needs at least one image, one pixel, one column and a scale of 1");
  if (images.size() != n * rows * cols)
    throw std::invalid_argument(std::to_string(images.size()) + " values are not " + std::to_string(n) +
                                " images of " + std::to_string(rows) + "x" + std::to_string(cols));
  if (captions.size() != n)
    throw std::invalid_argument(std::to_string(captions.size()) + " captions for " + std::to_string(n) + " images");
  if (!(options.lo < options.hi)) throw std::invalid_argument("the value range needs lo < hi");

  const std::size_t scale = options.scale;
  const std::size_t tile_width = cols * scale, tile_height = rows * scale, gap = 2 * scale;
  std::size_t font_scale = std::max<std::size_t>(1, (scale + 1) / 2);
  const auto widest = std::ranges::max(captions, {}, [](const std::string& c) { return text_width(c, 1); });
  while (font_scale > 1 && text_width(widest, font_scale) > tile_width) --font_scale;
  const std::size_t caption_height = (bitmap_font::glyph_height + 2) * font_scale;
  const std::size_t cell_width = tile_width + gap, cell_height = tile_height + caption_height + gap;

  const std::size_t grid_columns = std::min(options.columns, n);
  const std::size_t grid_rows = (n + options.columns - 1) / options.columns;
  grey_image grid{.width = grid_columns * cell_width + gap, .height = grid_rows * cell_height + gap, .pixels = {}};
  grid.pixels.assign(grid.width * grid.height, 255);

  const float range = options.hi - options.lo;
  const auto shade = [&](float value) {
    const float t = (value - options.lo) / range;
    return static_cast<std::uint8_t>(std::lround(255.0f * (t > 0.0f ? std::min(t, 1.0f) : 0.0f)));
  };
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t left = gap + (i % options.columns) * cell_width;
    const std::size_t top = gap + (i / options.columns) * cell_height;
    const float* image = images.data() + i * rows * cols;
    for (std::size_t y = 0; y < tile_height; ++y)
      for (std::size_t x = 0; x < tile_width; ++x)
        grid.pixels[(top + y) * grid.width + left + x] = shade(image[(y / scale) * cols + x / scale]);

    const std::size_t text = text_width(captions[i], font_scale);
    const std::size_t indent = text < tile_width ? (tile_width - text) / 2 : 0;
    draw_text(grid.pixels, grid.width, left + indent, top + tile_height + font_scale, captions[i], font_scale, 0,
              tile_width - indent);
  }
  return grid;
}

void write_labelled_grid(const std::filesystem::path& path, std::span<const float> images, std::size_t n,
                         std::size_t rows, std::size_t cols, std::span<const std::string> captions,
                         const grid_options& options) {
  grey_image grid;
  try {
    grid = render_labelled_grid(images, n, rows, cols, captions, options);
  } catch (const std::invalid_argument& error) {
    throw file_error(path, std::string("cannot draw the grid: ") + error.what());
  }
  write_png(path, grid.pixels, grid.width, grid.height, pixel_format::grey);
}

}  // namespace typenet
