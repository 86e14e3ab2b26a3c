#pragma once
// A strict pull reader for the subset of JSON that file headers use: objects,
// strings (with every JSON escape), non-negative integers and arrays of them.
// Anything else (floats, negatives, true/false/null, trailing commas) is a
// syntax error, so a corrupt header is reported rather than half-understood.
//
//   detail::json_reader in(R"({"shape": [2, 3]})");
//   in.read_object([&](std::string key) { auto dims = in.read_unsigned_array(); });
//   in.expect_end();
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace typenet::detail {

// Carries the byte position; the caller adds the file's name.
class json_error : public std::runtime_error {
public:
  json_error(std::size_t position, const std::string& problem)
      : std::runtime_error("at byte " + std::to_string(position) + ": " + problem) {}
};

class json_reader {
public:
  explicit json_reader(std::string_view text) : text_(text) {}

  // Calls on_member(key) once per member; on_member must read the value.
  template <class OnMember> void read_object(OnMember&& on_member) {
    expect('{', "'{'");
    if (consume('}')) return;
    do {
      std::string key = read_string();
      expect(':', "':'");
      on_member(std::move(key));
    } while (consume(','));
    expect('}', "',' or '}'");
  }

  std::string read_string() {
    expect('"', "a string");
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character inside a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) fail("unterminated escape");
      switch (const char e = text_[pos_++]) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(out, read_code_point()); break;
        default: fail(std::string("unknown escape '\\") + e + "'");
      }
    }
  }

  std::uint64_t read_unsigned() {
    skip_space();
    if (!at_end() && text_[pos_] == '-') fail("negative numbers are not allowed here");
    if (at_end() || !is_digit(text_[pos_])) fail("expected a non-negative integer");
    const std::size_t start = pos_;
    std::uint64_t value = 0;
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    while (!at_end() && is_digit(text_[pos_])) {
      const auto digit = static_cast<std::uint64_t>(text_[pos_++] - '0');
      if (value > (max - digit) / 10) fail("integer too large");
      value = value * 10 + digit;
    }
    if (text_[start] == '0' && pos_ - start > 1) fail("integer with a leading zero");
    if (!at_end() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E'))
      fail("expected an integer, found a floating-point number");
    return value;
  }

  std::vector<std::uint64_t> read_unsigned_array() {
    expect('[', "'['");
    std::vector<std::uint64_t> values;
    if (consume(']')) return values;
    do values.push_back(read_unsigned());
    while (consume(','));
    expect(']', "',' or ']'");
    return values;
  }

  // Only whitespace (e.g. the header's padding) may follow the value.
  void expect_end() {
    skip_space();
    if (!at_end()) fail("unexpected text after the end of the JSON value");
  }

private:
  [[noreturn]] void fail(const std::string& problem) const { throw json_error(pos_, problem); }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  bool at_end() const { return pos_ >= text_.size(); }

  void skip_space() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  bool consume(char c) {
    skip_space();
    if (at_end() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  void expect(char c, const char* what) {
    if (!consume(c)) fail(std::string("expected ") + what);
  }

  unsigned read_hex4() {
    if (text_.size() - pos_ < 4) fail("truncated \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      value <<= 4;
      if (is_digit(h)) value |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') value |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') value |= static_cast<unsigned>(h - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return value;
  }

  // \uXXXX, joining a UTF-16 surrogate pair into one code point.
  char32_t read_code_point() {
    const unsigned high = read_hex4();
    if (high >= 0xDC00 && high <= 0xDFFF) fail("unpaired low surrogate in \\u escape");
    if (high < 0xD800 || high > 0xDBFF) return high;
    if (text_.substr(pos_, 2) != "\\u") fail("unpaired high surrogate in \\u escape");
    pos_ += 2;
    const unsigned low = read_hex4();
    if (low < 0xDC00 || low > 0xDFFF) fail("unpaired high surrogate in \\u escape");
    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
  }

  static void append_utf8(std::string& out, char32_t c) {
    auto byte = [&](unsigned b) { out += static_cast<char>(b); };
    if (c < 0x80) byte(c);
    else if (c < 0x800) { byte(0xC0 | (c >> 6)); byte(0x80 | (c & 0x3F)); }
    else if (c < 0x10000) { byte(0xE0 | (c >> 12)); byte(0x80 | ((c >> 6) & 0x3F)); byte(0x80 | (c & 0x3F)); }
    else {
      byte(0xF0 | (c >> 18)); byte(0x80 | ((c >> 12) & 0x3F));
      byte(0x80 | ((c >> 6) & 0x3F)); byte(0x80 | (c & 0x3F));
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace typenet::detail
