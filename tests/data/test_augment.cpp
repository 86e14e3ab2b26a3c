// Augmentation: each transform does what its torchvision counterpart does on
// images whose answer is known, and a batch is bit-identical whatever the
// number of threads.
#include <boost/test/unit_test.hpp>

#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <typenet/data/augment.hpp>

using typenet::augmentation;
using typenet::drawn_augmentation;
using typenet::dynamic_shape;

namespace {

// Distinct values in [0, 1), a pseudo-random pattern with no symmetry.
std::vector<float> random_images(std::size_t count, dynamic_shape geometry, std::uint64_t seed = 1) {
  std::vector<float> images(count * geometry.size());
  typenet::random_sequence values(seed);
  for (float& value : images) value = static_cast<float>(values.uniform01());
  return images;
}

// Images as a data set holds them, bytes, and the floats a network sees of them.
struct byte_images {
  std::vector<std::uint8_t> bytes;
  std::vector<float> floats;  // bytes through `normalised`
};

const typenet::pixel_normalisation normalised({.mean = 0.1307, .std = 0.3081});  // MNIST's

// Pseudo-random bytes with no symmetry.
byte_images random_byte_images(std::size_t count, dynamic_shape geometry, std::uint64_t seed = 1) {
  byte_images images{std::vector<std::uint8_t>(count * geometry.size()), std::vector<float>(count * geometry.size())};
  typenet::random_sequence values(seed);
  for (std::uint8_t& value : images.bytes) value = static_cast<std::uint8_t>(values.below(256));
  normalised.convert(images.bytes, images.floats.data());
  return images;
}

std::vector<std::size_t> iota_indices(std::size_t count) {
  std::vector<std::size_t> indices(count);
  std::iota(indices.begin(), indices.end(), 0);
  return indices;
}

std::vector<float> augmented(const byte_images& images, const std::vector<std::size_t>& indices,
                             dynamic_shape geometry, const augmentation& aug, std::uint64_t key) {
  std::vector<float> out(indices.size() * geometry.size());
  typenet::augment_batch(images.bytes.data(), normalised, indices, out.data(), geometry, aug, key);
  return out;
}

std::vector<float> transformed(const std::vector<float>& image, dynamic_shape geometry,
                               const drawn_augmentation& drawn, float fill) {
  std::vector<float> out(geometry.size());
  typenet::augment_image(image.data(), out.data(), geometry, drawn, fill);
  return out;
}

// Pixel (x, y) of channel c of an image shifted right by dx and down by dy, fill entering.
float shifted(const std::vector<float>& image, dynamic_shape g, std::size_t c, std::ptrdiff_t x,
              std::ptrdiff_t y, std::ptrdiff_t dx, std::ptrdiff_t dy, float fill) {
  const std::ptrdiff_t sx = x - dx, sy = y - dy;
  const auto rows = static_cast<std::ptrdiff_t>(g.height), cols = static_cast<std::ptrdiff_t>(g.width);
  if (sx < 0 || sx >= cols || sy < 0 || sy >= rows) return fill;
  return image[c * g.pixels() + static_cast<std::size_t>(sy * cols + sx)];
}

bool is_shift_of(const float* out, const std::vector<float>& image, dynamic_shape g,
                 std::ptrdiff_t dx, std::ptrdiff_t dy, float fill) {
  for (std::size_t c = 0; c < g.channels; ++c)
    for (std::size_t y = 0; y < g.height; ++y)
      for (std::size_t x = 0; x < g.width; ++x)
        if (out[c * g.pixels() + y * g.width + x] !=
            shifted(image, g, c, static_cast<std::ptrdiff_t>(x), static_cast<std::ptrdiff_t>(y), dx, dy, fill))
          return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_default_augmentation_is_the_identity) {
  const dynamic_shape g{3, 28, 28};
  const auto images = random_byte_images(50, g);
  const std::vector<std::size_t> indices = {7, 0, 49, 7, 13};
  const auto out = augmented(images, indices, g, augmentation{}, 42);
  for (std::size_t i = 0; i < indices.size(); ++i)
    for (std::size_t p = 0; p < g.size(); ++p)
      BOOST_REQUIRE_EQUAL(out[i * g.size() + p], images.floats[indices[i] * g.size() + p]);
}

// Bilinear sampling interpolates the normalised floats, not the bytes: a batch
// from bytes is bit-identical to each image's floats transformed one by one.
BOOST_AUTO_TEST_CASE(a_batch_of_bytes_is_its_images_floats_transformed) {
  const dynamic_shape g{1, 28, 28};
  const auto images = random_byte_images(40, g);
  const std::vector<std::size_t> indices = {3, 39, 0, 3, 17};
  for (const augmentation aug : {augmentation{.rotation_degrees = 7, .fill = normalised(0)},
                                 augmentation{.translate_pixels = 2, .crop_padding = 2, .fill = normalised(0)}}) {
    const auto out = augmented(images, indices, g, aug, 9);
    for (std::size_t i = 0; i < indices.size(); ++i) {
      const std::vector<float> image(images.floats.begin() + indices[i] * g.size(),
                                     images.floats.begin() + (indices[i] + 1) * g.size());
      const auto expected = transformed(image, g, typenet::draw_augmentation(aug, 9, indices[i]), aug.fill);
      BOOST_REQUIRE(std::memcmp(out.data() + i * g.size(), expected.data(), g.size() * sizeof(float)) == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(rotation_by_90_degrees_is_numpy_rot90) {
  for (std::size_t n : {4u, 5u}) {  // centre on a pixel and between pixels
    const dynamic_shape g{2, n, n};
    const auto image = random_images(1, g);
    const auto left = transformed(image, g, {.rotation_degrees = 90}, -1);
    const auto right = transformed(image, g, {.rotation_degrees = -90}, -1);
    const auto half = transformed(image, g, {.rotation_degrees = 180}, -1);
    for (std::size_t c = 0; c < 2; ++c)
      for (std::size_t r = 0; r < n; ++r)
        for (std::size_t k = 0; k < n; ++k) {
          const auto at = [&](std::size_t row, std::size_t col) { return image[c * n * n + row * n + col]; };
          const std::size_t i = c * n * n + r * n + k;
          // Counter-clockwise: the top row is the old right column, read downwards.
          BOOST_TEST(left[i] == at(k, n - 1 - r), boost::test_tools::tolerance(1e-6f));
          BOOST_TEST(right[i] == at(n - 1 - k, r), boost::test_tools::tolerance(1e-6f));
          BOOST_TEST(half[i] == at(n - 1 - r, n - 1 - k), boost::test_tools::tolerance(1e-6f));
        }
  }
}

BOOST_AUTO_TEST_CASE(rotation_keeps_a_constant_image_inside_and_fills_the_corners) {
  const dynamic_shape g{1, 28, 28};
  const std::vector<float> flat(g.size(), 0.75f);
  const auto out = transformed(flat, g, {.rotation_degrees = 45}, -0.5f);
  for (std::size_t y = 0; y < 28; ++y)
    for (std::size_t x = 0; x < 28; ++x)
      if (std::hypot(x - 13.5, y - 13.5) < 12.5)
        BOOST_TEST(out[y * 28 + x] == 0.75f, boost::test_tools::tolerance(1e-6f));
  for (std::size_t corner : {0u, 27u, 27u * 28, 28u * 28 - 1})  // 45 degrees turns them outside
    BOOST_TEST(out[corner] == -0.5f);
}

BOOST_AUTO_TEST_CASE(random_rotation_stays_within_its_range) {
  const augmentation aug{.rotation_degrees = 15};
  float lowest = 0, highest = 0;
  for (std::size_t i = 0; i < 1000; ++i) {
    const float angle = typenet::draw_augmentation(aug, 9, i).rotation_degrees;
    BOOST_REQUIRE(angle >= -15 && angle <= 15);
    lowest = std::min(lowest, angle);
    highest = std::max(highest, angle);
  }
  BOOST_TEST(lowest < -14);
  BOOST_TEST(highest > 14);
}

BOOST_AUTO_TEST_CASE(translation_shifts_the_picture_and_fill_enters) {
  const dynamic_shape g{2, 6, 7};
  const auto image = random_images(1, g);
  const auto out = transformed(image, g, {.translate_x = 2, .translate_y = -1}, -3);
  BOOST_TEST(is_shift_of(out.data(), image, g, 2, -1, -3));
  BOOST_TEST(out[0] == -3.0f);                            // from left of the image
  BOOST_TEST(out[5 * 7 + 4] == -3.0f);                    // from below it
  BOOST_TEST(out[1 * 7 + 3] == image[2 * 7 + 1]);         // (3, 1) from (1, 2)
}

BOOST_AUTO_TEST_CASE(random_translation_shifts_by_the_drawn_amount) {
  const dynamic_shape g{1, 28, 28};
  const augmentation aug{.translate_pixels = 3, .fill = -1};
  const auto images = random_byte_images(200, g);
  const auto indices = iota_indices(200);
  const auto out = augmented(images, indices, g, aug, 5);
  std::set<std::ptrdiff_t> seen;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const auto drawn = typenet::draw_augmentation(aug, 5, i);
    BOOST_REQUIRE(std::abs(drawn.translate_x) <= 3 && std::abs(drawn.translate_y) <= 3);
    seen.insert(drawn.translate_x);
    const std::vector<float> image(images.floats.begin() + i * g.size(), images.floats.begin() + (i + 1) * g.size());
    BOOST_REQUIRE(is_shift_of(out.data() + i * g.size(), image, g, drawn.translate_x, drawn.translate_y, -1));
  }
  BOOST_TEST(seen.size() == 7u);  // every shift in [-3, 3] occurs
}

BOOST_AUTO_TEST_CASE(padded_crop_keeps_the_size_and_shifts_by_at_most_the_padding) {
  const dynamic_shape g{1, 28, 28};
  const augmentation aug{.crop_padding = 4, .fill = -2};
  const auto images = random_byte_images(100, g);
  const auto indices = iota_indices(100);
  const auto out = augmented(images, indices, g, aug, 11);
  BOOST_TEST(out.size() == images.floats.size());
  std::set<std::ptrdiff_t> seen;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::vector<float> image(images.floats.begin() + i * g.size(), images.floats.begin() + (i + 1) * g.size());
    std::size_t matches = 0;
    for (std::ptrdiff_t dy = -4; dy <= 4; ++dy)
      for (std::ptrdiff_t dx = -4; dx <= 4; ++dx)
        if (is_shift_of(out.data() + i * g.size(), image, g, dx, dy, -2)) {
          ++matches;
          const auto drawn = typenet::draw_augmentation(aug, 11, i);
          BOOST_TEST(dx == -drawn.crop_x);  // the window moves right, the picture left
          BOOST_TEST(dy == -drawn.crop_y);
          seen.insert(dx);
        }
    BOOST_REQUIRE_EQUAL(matches, 1u);
  }
  BOOST_TEST(seen.size() == 9u);
}

BOOST_AUTO_TEST_CASE(crop_clips_what_translation_pushed_out) {
  // RandomAffine then RandomCrop: columns moved out of the frame do not come back.
  const dynamic_shape g{1, 5, 5};
  const auto image = random_images(1, g);
  const auto out = transformed(image, g, {.translate_x = 2, .crop_x = 2}, -1);
  for (std::size_t y = 0; y < 5; ++y)
    for (std::size_t x = 0; x < 5; ++x)
      BOOST_TEST(out[y * 5 + x] == (x < 3 ? image[y * 5 + x] : -1.0f));
}

BOOST_AUTO_TEST_CASE(a_tiny_rotation_agrees_with_the_plain_shift) {
  // Angle 0 takes a row-copying path; any other the bilinear one. They must meet.
  const dynamic_shape g{2, 9, 8};
  const auto image = random_images(1, g);
  const drawn_augmentation shift{.translate_x = 2, .translate_y = -1, .crop_x = -1, .crop_y = 3};
  drawn_augmentation tiny = shift;
  tiny.rotation_degrees = 1e-3f;
  const auto exact = transformed(image, g, shift, -1);
  const auto nearly = transformed(image, g, tiny, -1);
  BOOST_TEST(std::count(exact.begin(), exact.end(), -1.0f) > 20);
  for (std::size_t p = 0; p < g.size(); ++p) BOOST_TEST(std::abs(nearly[p] - exact[p]) < 1e-3f);
}

BOOST_AUTO_TEST_CASE(a_batch_is_bit_identical_on_1_and_2_threads) {
  const dynamic_shape g{1, 28, 28};
  const augmentation aug{.rotation_degrees = 20, .translate_pixels = 2, .crop_padding = 2, .fill = -0.42f};
  const auto images = random_byte_images(3000, g);
  std::vector<std::size_t> indices(3000);
  typenet::random_sequence order(3);
  for (auto& index : indices) index = order.below(3000);
  std::vector<float> one, two;
  tbb::task_arena(1).execute([&] { one = augmented(images, indices, g, aug, 77); });
  tbb::task_arena(2).execute([&] { two = augmented(images, indices, g, aug, 77); });
  BOOST_REQUIRE_EQUAL(one.size(), two.size());
  BOOST_TEST(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
}

BOOST_AUTO_TEST_CASE(an_image_draws_by_its_index_not_its_slot) {
  const dynamic_shape g{1, 28, 28};
  const augmentation aug{.rotation_degrees = 30, .translate_pixels = 3, .crop_padding = 3};
  const auto images = random_byte_images(10, g);
  const auto a = augmented(images, {7, 1}, g, aug, 8);
  const auto b = augmented(images, {2, 3, 7}, g, aug, 8);
  BOOST_TEST(std::equal(a.begin(), a.begin() + 784, b.begin() + 2 * 784));
}

BOOST_AUTO_TEST_CASE(different_keys_give_different_images) {
  const dynamic_shape g{1, 28, 28};
  const augmentation aug{.rotation_degrees = 10, .translate_pixels = 2, .crop_padding = 2};
  const auto images = random_byte_images(20, g);
  const auto indices = iota_indices(20);
  const auto epoch_1 = augmented(images, indices, g, aug, typenet::random_key(1, typenet::stream::augment, 1));
  const auto epoch_2 = augmented(images, indices, g, aug, typenet::random_key(1, typenet::stream::augment, 2));
  const auto again = augmented(images, indices, g, aug, typenet::random_key(1, typenet::stream::augment, 1));
  BOOST_TEST((epoch_1 == again));
  std::size_t differing = 0;
  for (std::size_t i = 0; i < 20; ++i)
    differing += !std::equal(epoch_1.begin() + i * 784, epoch_1.begin() + (i + 1) * 784, epoch_2.begin() + i * 784);
  BOOST_TEST(differing >= 19u);
}

BOOST_AUTO_TEST_CASE(center_crop_takes_the_middle) {
  // Two images of two channels, 5x5, pixel value = its index in the batch.
  const dynamic_shape g{2, 5, 5};
  std::vector<float> images(2 * g.size());
  std::iota(images.begin(), images.end(), 0.0f);
  std::vector<float> out(2 * 2 * 3 * 3);
  typenet::center_crop(images.data(), 2, g, out.data(), 3, 3);
  const std::vector<float> plane_0 = {6, 7, 8, 11, 12, 13, 16, 17, 18};
  for (std::size_t plane = 0; plane < 4; ++plane)
    for (std::size_t p = 0; p < 9; ++p) BOOST_TEST(out[plane * 9 + p] == plane_0[p] + 25.0f * plane);
}

BOOST_AUTO_TEST_CASE(center_crop_rounds_half_offsets_to_even_as_torchvision) {
  const dynamic_shape g{1, 6, 5};
  std::vector<float> image(g.size());
  std::iota(image.begin(), image.end(), 0.0f);
  std::vector<float> out(3 * 4);
  typenet::center_crop(image.data(), 1, g, out.data(), 3, 4);  // round(1.5) = 2 rows, round(0.5) = 0 cols
  const std::vector<float> expected = {10, 11, 12, 13, 15, 16, 17, 18, 20, 21, 22, 23};
  BOOST_TEST(out == expected, boost::test_tools::per_element());
  BOOST_CHECK_THROW(typenet::center_crop(image.data(), 1, g, out.data(), 7, 4), std::invalid_argument);
}

// Reported under UBSan: a crop padding of 2^63 - 1 overflowed the draws, and a
// shift as large as the image blanked every image; both are refused where the
// augmentation is applied, naming the trainer's option.
BOOST_AUTO_TEST_CASE(ranges_that_leave_nothing_of_the_image_are_refused) {
  const typenet::dynamic_shape g{1, 28, 28};
  std::vector<std::uint8_t> source(g.size());
  std::vector<float> destination(g.size());
  const std::size_t index = 0;
  const auto refused = [&](typenet::augmentation aug, const std::string& message) {
    BOOST_CHECK_EXCEPTION(typenet::augment_batch(source.data(), normalised, std::span(&index, 1), destination.data(), g, aug, 1),
                          std::invalid_argument, [&](const std::invalid_argument& e) { return e.what() == message; });
  };
  refused({.crop_padding = 9223372036854775807u},
          "--crop-padding 9223372036854775807: a crop padding of 9223372036854775807 pixels or more leaves nothing of "
          "a 28x28 image (at most 27)");
  refused({.translate_pixels = 28}, "--translate 28: a shift of 28 pixels or more leaves nothing of a 28x28 image (at most 27)");
  BOOST_CHECK_NO_THROW(typenet::augment_batch(source.data(), normalised, std::span(&index, 1), destination.data(), g,
                                              {.translate_pixels = 27, .crop_padding = 27}, 1));
}
