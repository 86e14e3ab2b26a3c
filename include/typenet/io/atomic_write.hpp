#pragma once
// write_file_atomically: replace a file by new contents all at once. The bytes
// go to `<path>.tmp-<pid>` in the same directory, are flushed to the disk, and
// only then renamed over `path` (rename within a directory is atomic on POSIX).
// A crash or an error at any point leaves either the old file or the new one,
// never a half-written one, and an error removes the temporary file.
//
//   std::string text = "hello\n";
//   typenet::write_file_atomically("out/note.txt", {std::as_bytes(std::span(text))});
#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>

#include "typenet/io/file_error.hpp"

namespace typenet {

namespace detail {

// The write itself (src/io/atomic_write.cpp): what went wrong, or nothing once
// the new file is in place.
std::optional<std::string> write_atomically(const std::filesystem::path& path,
                                            std::span<const std::span<const std::byte>> parts);

}  // namespace detail

// Writes the concatenation of `parts`; throws Error (a file_error) naming `path`.
// Error is a template argument so that each format keeps its own error type
// (checkpoint_error for safetensors); the work is compiled once, above.
template <class Error = file_error>
void write_file_atomically(const std::filesystem::path& path, std::span<const std::span<const std::byte>> parts) {
  if (auto problem = detail::write_atomically(path, parts)) throw Error(path, *problem);
}

template <class Error = file_error>
void write_file_atomically(const std::filesystem::path& path,
                           std::initializer_list<std::span<const std::byte>> parts) {
  write_file_atomically<Error>(path, std::span(parts.begin(), parts.size()));
}

}  // namespace typenet
