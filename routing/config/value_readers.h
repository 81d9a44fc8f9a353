#pragma once

// Readers for single TOML values. Each one checks the type and the range, reports what it
// expected under `key` when the value is not acceptable, and returns the value only when it is.
// The table schemas (table_schema.h) bind them to struct members.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/net_address.h"
#include "routing/config/error_sink.h"
#include "routing/config/toml_nodes.h"
#include "toml++/toml.h"

namespace sy::routing::config {

// A TOML integer (never a float or a string) within [min, max].
std::optional<int64_t> readInteger(const toml::node& node, const std::string& key, int64_t min,
                                   int64_t max, ErrorSink& sink);

// A TOML integer or float within [min, max].
std::optional<double> readNumber(const toml::node& node, const std::string& key, double min,
                                 double max, ErrorSink& sink);

// true or false.
std::optional<bool> readBool(const toml::node& node, const std::string& key, ErrorSink& sink);

// A string such as "250ms", "5s" or "1m30s" (absl::ParseDuration) within [min, max].
std::optional<absl::Duration> readDuration(const toml::node& node, const std::string& key,
                                           absl::Duration min, absl::Duration max, ErrorSink& sink);

// Any TOML string; `expected` describes it in the error for a value of another type.
std::optional<std::string> readString(const toml::node& node, const std::string& key,
                                      ErrorSink& sink, std::string_view expected = "a string");

// One of `choices`, returned as its index.
std::optional<size_t> readChoice(const toml::node& node, const std::string& key,
                                 std::span<const std::string_view> choices, ErrorSink& sink);

// A size in bytes: a TOML integer, or a string parseByteSize (value_rules.h) accepts ("1MiB").
std::optional<uint64_t> readByteSize(const toml::node& node, const std::string& key,
                                     ErrorSink& sink);

enum class PortZero { kAllowed, kRejected };

struct AddressValue {
  std::string text;
  core::NetAddress address;
};

// "host:port" or "[v6]:port"; names are resolved now, once. Port 0 asks the kernel for a free
// port, which makes sense for something we listen on but never for something we connect to.
std::optional<AddressValue> readAddress(const toml::node& node, const std::string& key,
                                        PortZero port_zero, ErrorSink& sink);

// A string parsed by `rule` (see value_rules.h); the rule's message becomes the error.
template <class V>
std::optional<V> readParsed(const toml::node& node, const std::string& key,
                            absl::StatusOr<V> (*rule)(std::string_view), ErrorSink& sink) {
  std::optional<std::string> text = readString(node, key, sink);
  if (!text) return std::nullopt;
  absl::StatusOr<V> parsed = rule(*text);
  if (!parsed.ok()) {
    sink.add(positionOf(node), key, std::string(parsed.status().message()));
    return std::nullopt;
  }
  return *std::move(parsed);
}

// An array of strings, each parsed by `rule` and reported as key[i]. Returns the array only when
// every element is acceptable.
std::optional<std::vector<std::string>> readStringList(
    const toml::node& node, const std::string& key,
    absl::StatusOr<std::string> (*rule)(std::string_view), ErrorSink& sink);

}  // namespace sy::routing::config
