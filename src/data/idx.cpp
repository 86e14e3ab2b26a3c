#include "typenet/data/idx.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <zlib.h>

namespace typenet {

namespace detail {

std::string hex32(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", static_cast<unsigned>(value));
  return text;
}

std::uint32_t big_endian32(const std::uint8_t* bytes) noexcept {
  return std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 |
         std::uint32_t{bytes[2]} << 8 | std::uint32_t{bytes[3]};
}

// "60000 images of 28x28", "60000 labels", or "an array of 2x3x4x5".
std::string describe_idx_shape(const std::vector<std::size_t>& shape) {
  std::string extents;
  for (std::size_t d = shape.size() == 3 ? 1 : 0; d < shape.size(); ++d)
    extents.append(extents.empty() ? "" : "x").append(std::to_string(shape[d]));
  if (shape.size() == 3) return std::to_string(shape[0]) + " images of " + extents;
  if (shape.size() == 1) return std::to_string(shape[0]) + " labels";
  return "an array of " + extents;
}

struct file_closer {
  void operator()(std::FILE* file) const noexcept { std::fclose(file); }
};

// The bytes of a file, inflated when it is gzip (one or more members, each to
// its end: its CRC and length checked), as they are otherwise.
class byte_source {
 public:
  explicit byte_source(const std::filesystem::path& path) : path_(path) {
    errno = 0;
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) throw data_error(path, std::string("cannot open: ") + std::strerror(errno));
    std::error_code error;
    file_size_ = std::filesystem::file_size(path, error);
    fill();
    gzip_ = stream_.avail_in >= 2 && input_[0] == 0x1f && input_[1] == 0x8b;
    if (gzip_ && inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) throw data_error(path, "zlib: out of memory");
  }
  byte_source(const byte_source&) = delete;
  byte_source& operator=(const byte_source&) = delete;
  ~byte_source() {
    if (gzip_) inflateEnd(&stream_);
  }

  bool gzip() const noexcept { return gzip_; }
  std::uintmax_t file_size() const noexcept { return file_size_; }

  // Reads up to `size` bytes, fewer only at the end of the data.
  std::size_t read(std::uint8_t* out, std::size_t size) {
    std::size_t got = 0;
    while (got < size) {
      if (stream_.avail_in == 0 && !fill()) break;
      if (!gzip_) {
        const std::size_t n = std::min<std::size_t>(size - got, stream_.avail_in);
        std::memcpy(out + got, stream_.next_in, n);
        stream_.next_in += n, stream_.avail_in -= static_cast<uInt>(n), got += n;
        continue;
      }
      if (member_ended_) {  // another member follows (concatenated gzip)
        inflateReset(&stream_);
        member_ended_ = false;
      }
      stream_.next_out = out + got;
      stream_.avail_out = static_cast<uInt>(std::min<std::size_t>(size - got, 1u << 30));
      const int status = inflate(&stream_, Z_NO_FLUSH);
      got = static_cast<std::size_t>(stream_.next_out - out);
      if (status == Z_STREAM_END) member_ended_ = true;
      else if (status != Z_OK && status != Z_BUF_ERROR)
        throw data_error(path_, std::string("corrupt gzip data: ") + (stream_.msg ? stream_.msg : "inflate failed"));
    }
    if (gzip_ && got < size && !member_ended_)
      throw data_error(path_, "cut short: the gzip stream ends before its last member's CRC and length");
    return got;
  }

 private:
  // More input; false at the end of the file.
  bool fill() {
    const std::size_t n = std::fread(input_.data(), 1, input_.size(), file_.get());
    if (n == 0 && std::ferror(file_.get())) throw data_error(path_, std::string("read error: ") + std::strerror(errno));
    stream_.next_in = input_.data();
    stream_.avail_in = static_cast<uInt>(n);
    return n > 0;
  }

  std::filesystem::path path_;
  std::unique_ptr<std::FILE, file_closer> file_;
  std::uintmax_t file_size_ = 0;
  std::array<std::uint8_t, 1 << 17> input_{};
  z_stream stream_{};
  bool gzip_ = false, member_ended_ = false;
};

}  // namespace detail

namespace {

std::unique_ptr<detail::byte_source> open_source(const std::filesystem::path& path) {
  std::error_code ignored;
  const auto status = std::filesystem::status(path, ignored);
  if (!std::filesystem::exists(status)) throw data_error(path, "not found");
  if (!std::filesystem::is_regular_file(status)) throw data_error(path, "not a regular file");
  return std::make_unique<detail::byte_source>(path);
}

}  // namespace

idx_file::idx_file(const std::filesystem::path& path, std::size_t rank) : path_(path), source_(open_source(path)) {
  const std::size_t header_size = 4 + 4 * rank;
  std::vector<std::uint8_t> header(header_size);
  const std::size_t header_got = source_->read(header.data(), header_size);
  if (header_got < 4)
    throw data_error(path, "not an IDX file: only " + std::to_string(header_got) + " bytes long");

  const std::uint32_t magic = detail::big_endian32(header.data());
  const std::uint32_t expected = 0x800u | static_cast<std::uint32_t>(rank);
  if (magic != expected) {
    std::string why = "wrong magic number " + detail::hex32(magic) + ", expected " + detail::hex32(expected) +
                      " (IDX of unsigned bytes, rank " + std::to_string(rank) + ")";
    if ((magic & ~0xffu) == 0x800u)
      why += ": this IDX file has rank " + std::to_string(magic & 0xffu);
    else if ((magic >> 16) != 0)
      why += ": not an IDX file";
    throw data_error(path, why);
  }
  if (header_got < header_size)
    throw data_error(path, "truncated header: " + std::to_string(header_got) + " of its " +
                               std::to_string(header_size) + " bytes");

  // A corrupt header could claim any size; 2^36 bytes is far beyond any IDX
  // data set, and the limit keeps the product below overflow.
  constexpr std::size_t implausible = std::size_t{1} << 36;
  for (std::size_t d = 0; d < rank; ++d) {
    const std::size_t extent = detail::big_endian32(header.data() + 4 + 4 * d);
    if (extent == 0) throw data_error(path, "dimension " + std::to_string(d) + " is 0");
    shape_.push_back(extent);
    size_ = extent > implausible / size_ ? implausible : size_ * extent;
  }
  if (size_ >= implausible) throw data_error(path, "implausible header: " + describe());
  // What the file can hold: its own bytes when raw; deflate inflates at most
  // 1032 times, so a gzip file cannot hold more than that.
  header_size_ = header_size;
  if (!source_->gzip() && size_ > source_->file_size() - header_size) truncated(source_->file_size() - header_size);
  if (source_->gzip() && size_ > 1032 * source_->file_size())
    throw data_error(path, "impossible header: it says " + describe() + " (" + std::to_string(size_) +
                               " bytes), more than a gzip file of " + std::to_string(source_->file_size()) +
                               " bytes can hold");
}

idx_file::~idx_file() = default;

std::string idx_file::describe() const { return detail::describe_idx_shape(shape_); }

std::vector<std::uint8_t> idx_file::read_values() {
  std::vector<std::uint8_t> values;
  // Grow with what arrives (doubling from 64 KB) rather than trusting the header
  // with one allocation: a lying header costs at most twice what the file holds.
  std::size_t got = 0;
  while (got < size_) {
    const std::size_t want = std::min(size_ - got, std::max<std::size_t>(got, std::size_t{1} << 16));
    values.resize(got + want);
    const std::size_t n = source_->read(values.data() + got, want);
    got += n;
    if (n < want) break;
  }
  if (got < size_) truncated(got);
  std::array<std::uint8_t, 4096> rest;
  std::size_t trailing = 0;
  while (const std::size_t n = source_->read(rest.data(), rest.size())) trailing += n;
  if (trailing != 0)
    throw data_error(path_, "trailing garbage: " + std::to_string(trailing) + " bytes after the " +
                                std::to_string(size_) + " bytes of " + describe());
  return values;
}

void idx_file::truncated(std::uintmax_t holds) const {
  throw data_error(path_, "truncated: header says " + describe() + " (" + std::to_string(size_) +
                              " bytes) but the file holds " + std::to_string(holds) + " bytes after its " +
                              std::to_string(header_size_) + "-byte header");
}

idx_array read_idx(const std::filesystem::path& path, std::size_t rank) {
  idx_file file(path, rank);
  return {file.shape(), file.read_values()};
}

}  // namespace typenet
