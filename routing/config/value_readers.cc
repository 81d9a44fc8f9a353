#include "routing/config/value_readers.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"
#include "routing/config/value_rules.h"

namespace sy::routing::config {
namespace {

constexpr std::string_view kDurationExample = "a duration such as \"5s\" or \"250ms\"";

std::string expectedGot(std::string_view expected, std::string_view got) {
  return absl::StrCat("expected ", core::toAbsl(expected), ", got ", core::toAbsl(got));
}

// absl prints a zero duration as "0", which reads oddly next to "1h".
std::string durationText(absl::Duration d) {
  return d == absl::ZeroDuration() ? "0s" : absl::FormatDuration(d);
}

}  // namespace

std::optional<int64_t> readInteger(const toml::node& node, const std::string& key, int64_t min,
                                   int64_t max, ErrorSink& sink) {
  const std::optional<int64_t> value =
      node.is_integer() ? node.value_exact<int64_t>() : std::nullopt;
  if (!value) {
    sink.add(
        positionOf(node), key,
        expectedGot(absl::StrCat("an integer between ", min, " and ", max), describeValue(node)));
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    sink.add(
        positionOf(node), key,
        expectedGot(absl::StrCat("an integer between ", min, " and ", max), absl::StrCat(*value)));
    return std::nullopt;
  }
  return value;
}

std::optional<double> readNumber(const toml::node& node, const std::string& key, double min,
                                 double max, ErrorSink& sink) {
  std::optional<double> value;
  if (node.is_integer()) value = static_cast<double>(*node.value<int64_t>());
  if (node.is_floating_point()) value = *node.value<double>();
  const std::string expected = absl::StrCat("a number between ", min, " and ", max);
  if (!value) {
    sink.add(positionOf(node), key, expectedGot(expected, describeValue(node)));
    return std::nullopt;
  }
  if (!(*value >= min && *value <= max)) {  // also rejects nan
    sink.add(positionOf(node), key, expectedGot(expected, absl::StrCat(*value)));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> readBool(const toml::node& node, const std::string& key, ErrorSink& sink) {
  if (!node.is_boolean()) {
    sink.add(positionOf(node), key, expectedGot("true or false", describeValue(node)));
    return std::nullopt;
  }
  return node.value<bool>();
}

std::optional<absl::Duration> readDuration(const toml::node& node, const std::string& key,
                                           absl::Duration min, absl::Duration max,
                                           ErrorSink& sink) {
  if (!node.is_string()) {
    sink.add(positionOf(node), key, expectedGot(kDurationExample, describeValue(node)));
    return std::nullopt;
  }
  const std::string_view text = *node.value<std::string_view>();
  absl::Duration value;
  if (!absl::ParseDuration(core::toAbsl(text), &value)) {
    sink.add(positionOf(node), key, expectedGot(kDurationExample, inQuotes(text)));
    return std::nullopt;
  }
  if (value < min || value > max) {
    sink.add(positionOf(node), key,
             expectedGot(
                 absl::StrCat("a duration between ", durationText(min), " and ", durationText(max)),
                 inQuotes(text)));
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> readString(const toml::node& node, const std::string& key,
                                      ErrorSink& sink, std::string_view expected) {
  if (!node.is_string()) {
    sink.add(positionOf(node), key, expectedGot(expected, describeValue(node)));
    return std::nullopt;
  }
  return node.value<std::string>();
}

std::optional<size_t> readChoice(const toml::node& node, const std::string& key,
                                 std::span<const std::string_view> choices, ErrorSink& sink) {
  std::vector<std::string> listed;
  for (const std::string_view choice : choices) listed.push_back(inQuotes(choice));
  const std::string expected = absl::StrCat("one of ", absl::StrJoin(listed, ", "));
  std::optional<std::string> text = readString(node, key, sink, expected);
  if (!text) return std::nullopt;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == *text) return i;
  }
  sink.add(positionOf(node), key, expectedGot(expected, inQuotes(*text)));
  return std::nullopt;
}

std::optional<uint64_t> readByteSize(const toml::node& node, const std::string& key,
                                     ErrorSink& sink) {
  if (node.is_integer()) {
    auto value = readInteger(node, key, 0, int64_t{1} << 40, sink);
    if (!value) return std::nullopt;
    return static_cast<uint64_t>(*value);
  }
  return readParsed(node, key, parseByteSize, sink);
}

std::optional<AddressValue> readAddress(const toml::node& node, const std::string& key,
                                        PortZero port_zero, ErrorSink& sink) {
  std::optional<std::string> text =
      readString(node, key, sink, "an address \"host:port\" such as \"127.0.0.1:8080\"");
  if (!text) return std::nullopt;
  absl::StatusOr<core::NetAddress> address = core::NetAddress::parse(*text, true);
  if (!address.ok()) {
    sink.add(positionOf(node), key, std::string(address.status().message()));
    return std::nullopt;
  }
  if (port_zero == PortZero::kRejected && address->port() == 0) {
    sink.add(positionOf(node), key,
             absl::StrCat(inQuotes(*text), " has port 0: expected a port between 1 and 65535"));
    return std::nullopt;
  }
  return AddressValue{*std::move(text), *address};
}

std::optional<std::vector<std::string>> readStringList(
    const toml::node& node, const std::string& key,
    absl::StatusOr<std::string> (*rule)(std::string_view), ErrorSink& sink) {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    sink.add(positionOf(node), key, expectedGot("an array of strings", describeValue(node)));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < array->size(); ++i) {
    std::optional<std::string> value = readParsed((*array)[i], indexKey(key, i), rule, sink);
    if (value) {
      out.push_back(*std::move(value));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace sy::routing::config
