#pragma once
// augmentation: on-the-fly random rotation, translation and padded crop of
// training images, as torchvision's
//   RandomAffine(degrees=rotation_degrees, translate=translate_pixels / size, fill=fill)
//   then RandomCrop(size, padding=crop_padding, fill=fill),
// except that shifts are whole pixels drawn uniformly; and center_crop, the
// deterministic crop for evaluation.
//
//   typenet::augmentation aug{.rotation_degrees = 10, .crop_padding = 2,
//                             .fill = static_cast<float>(-mean / std)};   // a black pixel, normalised
//   auto key = typenet::random_key(seed, typenet::stream::augment, epoch);
//   typenet::augment_batch(train.pixels.data(), normalised, batch_indices, batch_pixels.data(),
//                          train.image, aug, key);
//
// Conventions. Coordinates are pixel indices (x = column, y = row, y down), a
// pixel's value sits at its integer coordinates, and rotation is about the
// image centre ((cols-1)/2, (rows-1)/2), as torchvision's. A positive angle
// turns the picture counter-clockwise as displayed (90 degrees is numpy's rot90).
// Rotation and translation are one affine map, so nothing is lost between
// them; the crop then clips to the frame. Sampling is bilinear, and any point
// outside the source image reads `fill`, so fill = 0 matches grid_sample's
// zero padding.
//
// Reproducibility: image i's draws depend only on (key, indices[i]), so a
// batch's output is bit-identical whatever the number of threads.
#include <cstddef>
#include <cstdint>
#include <span>

#include "typenet/core/random.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/data/pixel_normalisation.hpp"

namespace typenet {

// The ranges to draw from; the defaults leave images unchanged.
struct augmentation {
  float rotation_degrees = 0;        // angle uniform in [-rotation_degrees, rotation_degrees]
  std::size_t translate_pixels = 0;  // shift uniform in [-translate_pixels, translate_pixels] per axis
  std::size_t crop_padding = 0;      // pad by this, then crop back to size at a uniform offset
  float fill = 0;                    // the value of every pixel from outside the image
};

// Refuses ranges that would blank or break every image: a shift or a crop
// padding of the image's size or more leaves nothing of it (and larger ones
// would overflow the draws); an angle beyond 180 degrees repeats the range.
// The message names each setting by its trainer option.
void check_augmentation(const augmentation& aug, dynamic_shape geometry);

// One image's draw: the transform actually applied.
struct drawn_augmentation {
  float rotation_degrees = 0;     // counter-clockwise
  std::ptrdiff_t translate_x = 0;  // the picture moves right by this
  std::ptrdiff_t translate_y = 0;  // the picture moves down by this
  // The crop window's top-left corner relative to the unpadded image's, in
  // [-crop_padding, crop_padding]: the picture moves left by crop_x, up by crop_y.
  std::ptrdiff_t crop_x = 0;
  std::ptrdiff_t crop_y = 0;
};

// Image `index`'s draw under `key`: a pure function of the two.
drawn_augmentation draw_augmentation(const augmentation& aug, std::uint64_t key,
                                     std::size_t index);

// Applies one drawn transform to one image of `geometry`; source and destination must not overlap.
void augment_image(const float* source, float* destination, dynamic_shape geometry,
                   const drawn_augmentation& drawn, float fill);

// Writes an augmented copy of source image indices[i] to destination slot i
// (both sample-major batches of `geometry`), in parallel over images. The
// source images are bytes; the transform samples their normalised floats, so
// interpolation sees what an image of floats would give. A new key per epoch
// gives new draws: random_key(seed, stream::augment, epoch).
void augment_batch(const std::uint8_t* source_images, const pixel_normalisation& normalised,
                   std::span<const std::size_t> indices,
                   float* destination, dynamic_shape geometry, const augmentation& aug,
                   std::uint64_t key);

// Crops each of `count` images of `geometry` to its central rows x cols, as
// torchvision's center_crop: the top offset is round((geometry.height - rows) / 2)
// with Python's ties-to-even (and likewise the left), so 28 -> 25 starts at 2.
void center_crop(const float* source, std::size_t count, dynamic_shape geometry,
                 float* destination, std::size_t rows, std::size_t cols);

}  // namespace typenet
