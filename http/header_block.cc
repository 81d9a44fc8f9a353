#include "http/header_block.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "core/strings.h"

namespace sy::http {

void HeaderBlock::clear() {
  storage_.clear();
  fields_.clear();
  in_value_ = false;
}

void HeaderBlock::release() {
  std::string().swap(storage_);
  std::vector<Field>().swap(fields_);
  in_value_ = false;
}

void HeaderBlock::appendName(const char* data, size_t length) {
  if (fields_.empty() || in_value_) {
    const auto offset = static_cast<uint32_t>(storage_.size());
    fields_.push_back(Field{offset, 0, offset, 0});
    in_value_ = false;
  }
  Field& field = fields_.back();
  storage_.append(data, length);
  field.name_length += static_cast<uint32_t>(length);
  field.value_offset = static_cast<uint32_t>(storage_.size());
}

void HeaderBlock::appendValue(const char* data, size_t length) {
  if (fields_.empty()) return;  // the parser never sends a value before a name
  in_value_ = true;
  storage_.append(data, length);
  fields_.back().value_length += static_cast<uint32_t>(length);
}

void HeaderBlock::finishValue() {
  if (fields_.empty()) return;
  in_value_ = true;  // the next name starts a new field even when this value was empty
  Field& field = fields_.back();
  while (field.value_length > 0) {
    const char c = storage_[field.value_offset + field.value_length - 1];
    if (c != ' ' && c != '\t') break;
    --field.value_length;
  }
}

std::optional<std::string_view> HeaderBlock::find(std::string_view wanted) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (core::equalsIgnoreCase(name(i), wanted)) return value(i);
  }
  return std::nullopt;
}

size_t HeaderBlock::countOf(std::string_view wanted) const {
  size_t count = 0;
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (core::equalsIgnoreCase(name(i), wanted)) ++count;
  }
  return count;
}

uint32_t HeaderBlock::appendExtra(const char* data, size_t length) {
  const auto offset = static_cast<uint32_t>(storage_.size());
  storage_.append(data, length);
  return offset;
}

bool headerHasToken(std::string_view value, std::string_view token) {
  for (absl::string_view part : absl::StrSplit(core::toAbsl(value), ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(part), core::toAbsl(token))) return true;
  }
  return false;
}

}  // namespace sy::http

namespace sy::http {

std::optional<std::string_view> findCookie(const HeaderBlock& headers, std::string_view name) {
  for (size_t i = 0; i < headers.size(); ++i) {
    if (!core::equalsIgnoreCase(headers.name(i), "cookie")) continue;
    for (absl::string_view pair : absl::StrSplit(core::toAbsl(headers.value(i)), ';')) {
      pair = absl::StripAsciiWhitespace(pair);
      const size_t equals = pair.find('=');
      if (equals == absl::string_view::npos) continue;
      if (core::toStd(pair.substr(0, equals)) == name) return core::toStd(pair.substr(equals + 1));
    }
  }
  return std::nullopt;
}

}  // namespace sy::http
