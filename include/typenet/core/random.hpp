#pragma once
// Counter-based random numbers: a value is a pure function of (key, counter),
// so the result never depends on which thread draws it or in which order.
// This is what makes dropout, augmentation and shuffling bit-reproducible
// whatever the number of threads.
//
//   auto key = typenet::random_key(seed, stream::dropout, step);
//   float u = typenet::uniform01(key, sample * 1000 + element);   // in [0, 1)
#include <cstdint>

namespace typenet {

// SplitMix64's finaliser: a bijective 64-bit mix with good avalanche.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Independent streams of one seed, so that e.g. adding augmentation does not
// change the initial weights.
enum class stream : std::uint64_t { init = 1, shuffle, dropout, augment };

constexpr std::uint64_t random_key(std::uint64_t seed, stream s, std::uint64_t index = 0) noexcept {
  return mix64(mix64(mix64(seed) ^ static_cast<std::uint64_t>(s)) ^ index);
}

constexpr std::uint64_t random_bits(std::uint64_t key, std::uint64_t counter) noexcept {
  return mix64(key ^ mix64(counter));
}

// Uniform in [0, 1) with 24 random bits (exact in float).
constexpr float uniform01(std::uint64_t key, std::uint64_t counter) noexcept {
  return static_cast<float>(random_bits(key, counter) >> 40) * 0x1.0p-24f;
}

// A sequential generator over the same mix, for code that draws many numbers
// in a fixed order (weight initialisation, shuffling).
class random_sequence {
 public:
  constexpr explicit random_sequence(std::uint64_t key) noexcept : key_(key) {}
  constexpr std::uint64_t bits() noexcept { return random_bits(key_, counter_++); }
  constexpr double uniform01() noexcept { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }
  constexpr double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform01(); }
  // Uniform integer in [0, n), by Lemire's multiply-shift (bias below 2^-32 for our n).
  constexpr std::uint64_t below(std::uint64_t n) noexcept {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(bits()) * n) >> 64);
  }

 private:
  std::uint64_t key_;
  std::uint64_t counter_ = 0;
};

}  // namespace typenet
