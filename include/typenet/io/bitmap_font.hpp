#pragma once
// A 5x7 bitmap font for captions in images the library writes: printable
// ASCII and the arrow "→" (so "7→2" reads as "true 7, predicted 2"); any
// other character is drawn as '?'. Text is UTF-8; each glyph is drawn as
// 5x7 blocks of scale x scale pixels and advances 6 blocks.
//
//   std::vector<std::uint8_t> grey(100 * 20, 255);                 // white 100x20 canvas
//   typenet::draw_text(grey, 100, 2, 2, "t7 p2", 2, 0);            // black, 12 pixels a character
//   std::size_t w = typenet::text_width("t7 p2", 2);               // 58
//
// A table in the library rather than a TrueType font: captions are a few
// digits at a known small size, and a table needs no font file at run time
// and draws the same pixels on every machine.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

namespace typenet {

struct bitmap_font {
  static constexpr std::size_t glyph_width = 5, glyph_height = 7, advance = 6;
};

// Width in pixels of `utf8` drawn at `scale`, without trailing spacing.
std::size_t text_width(std::string_view utf8, std::size_t scale);

// Draws onto a grey image `image_width` pixels wide with its top-left corner
// at (x, y). Glyphs that would reach past x + max_width are left out, and
// pixels outside the image are clipped.
void draw_text(std::span<std::uint8_t> grey, std::size_t image_width, std::size_t x, std::size_t y,
               std::string_view utf8, std::size_t scale, std::uint8_t ink,
               std::size_t max_width = std::numeric_limits<std::size_t>::max());

}  // namespace typenet
