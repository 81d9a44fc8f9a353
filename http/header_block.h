#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sy::http {

// The fields of one message head, copied out of the read buffers as the parser delivers them
// (a head may span several reads). Names keep their original case; lookups ignore case.
class HeaderBlock {
 public:
  void clear();
  // Frees the memory too: called when a connection goes idle.
  void release();
  // Room for `bytes` of names, values and extras and `fields` fields, so that a head built field
  // by field (an HTTP/2 request) does not grow its buffers step by step.
  // Inline: a new function in header_block.cc changed GCC's inlining of std::string::append in
  // its appenders, +90 user-space instructions per HTTP/1.1 request (callgrind).
  void reserve(size_t bytes, size_t fields) {
    storage_.reserve(bytes);
    fields_.reserve(fields);
  }

  void appendName(const char* data, size_t length);
  void appendValue(const char* data, size_t length);
  // Trims trailing whitespace from the value just completed.
  void finishValue();

  size_t size() const { return fields_.size(); }
  // Inline, without substr's range check (the offsets are the block's own): every head
  // builder, rule and lookup calls these per field, ~20 instructions a call out of line.
  std::string_view name(size_t index) const {
    const Field& f = fields_[index];
    return std::string_view(storage_.data() + f.name_offset, f.name_length);
  }
  std::string_view value(size_t index) const {
    const Field& f = fields_[index];
    return std::string_view(storage_.data() + f.value_offset, f.value_length);
  }
  // The first value of `name`, if any.
  std::optional<std::string_view> find(std::string_view name) const;
  size_t countOf(std::string_view name) const;
  // Sum of name and value bytes, for the header size limit.
  size_t byteSize() const { return storage_.size(); }

  // Extra strings that belong to the head (URL, reason phrase) live in the same storage.
  uint32_t appendExtra(const char* data, size_t length);
  std::string_view extra(uint32_t offset, uint32_t length) const {
    return std::string_view(storage_).substr(offset, length);
  }

 private:
  struct Field {
    uint32_t name_offset;
    uint32_t name_length;
    uint32_t value_offset;
    uint32_t value_length;
  };
  std::string storage_;
  std::vector<Field> fields_;
  bool in_value_ = false;
};

// The value of cookie `name` from the request's Cookie headers ("a=1; b=2"), if present.
std::optional<std::string_view> findCookie(const HeaderBlock& headers, std::string_view name);

// True when the comma-separated header value contains `token` (case-insensitive), as in
// "Connection: keep-alive, Upgrade".
bool headerHasToken(std::string_view value, std::string_view token);

}  // namespace sy::http
