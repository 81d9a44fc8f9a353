#pragma once

// Table-driven reading of TOML tables into the structs of model.h. A TableSchema<T> lists the
// keys a table may hold, each with the reader that checks its type and range and stores it into
// a member of T. Keys not listed are errors, so the schema is also the definitive list of what a
// table accepts. New settings are one Field line; a new section or sub-table is one schema plus
// one tableField()/tableArrayField() line in its parent.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/strings.h"
#include "routing/config/error_sink.h"
#include "routing/config/toml_nodes.h"
#include "routing/config/value_readers.h"
#include "toml++/toml.h"

namespace sy::routing::config {

template <class T>
struct Field {
  using Reader =
      std::function<void(const toml::node& node, const std::string& key, T& out, ErrorSink&)>;

  std::string_view name;
  Reader read;
  bool required = false;
  std::string_view missing_message = "required key is missing";
};

template <class T>
struct TableSchema {
  std::vector<Field<T>> fields = {};
  // Runs before the keys are read, for defaults that depend on where the table is: its position,
  // or a name made from its index in an array of tables.
  std::function<void(const toml::table& table, size_t index, T& out)> prepare = nullptr;
  // Runs after the keys are read, for rules that combine several keys. Rules whose inputs were
  // already reported (ErrorSink::hasErrorAt) should stay quiet.
  std::function<void(const toml::table& table, const std::string& key, T& out, ErrorSink& sink)>
      check = nullptr;
};

// Marks a field as required; `missing_message` replaces the generic message when given.
template <class T>
Field<T> required(Field<T> field, std::string_view missing_message = {}) {
  field.required = true;
  if (!missing_message.empty()) field.missing_message = missing_message;
  return field;
}

void reportUnknownKey(const toml::key& name, const std::string& table_key,
                      const std::vector<std::string_view>& known, ErrorSink& sink);

// Reads `table` (found at `key`, element `index` of its array or 0) into `out`.
template <class T>
void readTable(const toml::table& table, const std::string& key, size_t index,
               const TableSchema<T>& schema, T& out, ErrorSink& sink) {
  if (schema.prepare) schema.prepare(table, index, out);
  for (auto&& [name, node] : table) {
    const Field<T>* field = nullptr;
    for (const Field<T>& candidate : schema.fields) {
      if (candidate.name == name.str()) field = &candidate;
    }
    if (field == nullptr) {
      std::vector<std::string_view> known;
      for (const Field<T>& candidate : schema.fields) known.push_back(candidate.name);
      reportUnknownKey(name, key, known, sink);
      continue;
    }
    field->read(node, childKey(key, name.str()), out, sink);
  }
  for (const Field<T>& field : schema.fields) {
    if (field.required && !table.contains(field.name)) {
      // A missing key has no position of its own; its table's is the closest.
      sink.add(positionOf(table), childKey(key, field.name), std::string(field.missing_message));
    }
  }
  if (schema.check) schema.check(table, key, out, sink);
}

// ---- Field factories, one per kind of value. ----

template <class T, class Int>
Field<T> integerField(std::string_view name, Int T::*member, int64_t min, int64_t max) {
  return {name, [member, min, max](const toml::node& node, const std::string& key, T& out,
                                   ErrorSink& sink) {
            if (auto value = readInteger(node, key, min, max, sink)) {
              out.*member = static_cast<Int>(*value);
            }
          }};
}

template <class T>
Field<T> durationField(std::string_view name, absl::Duration T::*member, absl::Duration min,
                       absl::Duration max) {
  return {name, [member, min, max](const toml::node& node, const std::string& key, T& out,
                                   ErrorSink& sink) {
            if (auto value = readDuration(node, key, min, max, sink)) out.*member = *value;
          }};
}

template <class T>
Field<T> numberField(std::string_view name, double T::*member, double min, double max) {
  return {name, [member, min, max](const toml::node& node, const std::string& key, T& out,
                                   ErrorSink& sink) {
            if (auto value = readNumber(node, key, min, max, sink)) out.*member = *value;
          }};
}

// A size in bytes (readByteSize); the member may be a uint64_t or a std::optional of one.
template <class T, class M>
Field<T> byteSizeField(std::string_view name, M T::*member) {
  return {name, [member](const toml::node& node, const std::string& key, T& out, ErrorSink& sink) {
            if (auto value = readByteSize(node, key, sink)) out.*member = *value;
          }};
}

template <class T>
Field<T> boolField(std::string_view name, bool T::*member) {
  return {name, [member](const toml::node& node, const std::string& key, T& out, ErrorSink& sink) {
            if (auto value = readBool(node, key, sink)) out.*member = *value;
          }};
}

template <class T>
Field<T> stringField(std::string_view name, std::string T::*member) {
  return {name, [member](const toml::node& node, const std::string& key, T& out, ErrorSink& sink) {
            if (auto value = readString(node, key, sink)) out.*member = *std::move(value);
          }};
}

// A string with a syntax of its own; `rule` (value_rules.h) checks and converts it. The member
// may be a V or a std::optional<V>.
template <class T, class M, class V>
Field<T> parsedField(std::string_view name, M T::*member,
                     absl::StatusOr<V> (*rule)(std::string_view)) {
  return {name,
          [member, rule](const toml::node& node, const std::string& key, T& out, ErrorSink& sink) {
            if (auto value = readParsed(node, key, rule, sink)) out.*member = *std::move(value);
          }};
}

template <class T>
Field<T> stringListField(std::string_view name, std::vector<std::string> T::*member,
                         absl::StatusOr<std::string> (*rule)(std::string_view)) {
  return {name,
          [member, rule](const toml::node& node, const std::string& key, T& out, ErrorSink& sink) {
            if (auto value = readStringList(node, key, rule, sink)) {
              out.*member = *std::move(value);
            }
          }};
}

// One of a fixed set of words, each standing for a value of E.
template <class T, class E>
Field<T> choiceField(std::string_view name, E T::*member,
                     std::vector<std::pair<std::string_view, E>> choices) {
  std::vector<std::string_view> words;
  for (const auto& choice : choices) words.push_back(choice.first);
  return {name, [member, choices = std::move(choices), words = std::move(words)](
                    const toml::node& node, const std::string& key, T& out, ErrorSink& sink) {
            if (auto index = readChoice(node, key, words, sink)) {
              out.*member = choices[*index].second;
            }
          }};
}

// The address is stored twice: as written (for messages and the admin API) and resolved.
template <class T>
Field<T> addressField(std::string_view name, std::string T::*text_member,
                      core::NetAddress T::*address_member, PortZero port_zero) {
  return {name, [text_member, address_member, port_zero](
                    const toml::node& node, const std::string& key, T& out, ErrorSink& sink) {
            if (auto value = readAddress(node, key, port_zero, sink)) {
              out.*text_member = std::move(value->text);
              out.*address_member = value->address;
            }
          }};
}

// A sub-table such as [server]; with a std::optional<Sub> member it is set only when present.
template <class T, class M, class Sub>
Field<T> tableField(std::string_view name, M T::*member, const TableSchema<Sub>& (*schema)()) {
  return {name, [member, schema](const toml::node& node, const std::string& key, T& out,
                                 ErrorSink& sink) {
            const toml::table* table = node.as_table();
            if (table == nullptr) {
              sink.add(positionOf(node), key,
                       absl::StrCat("expected a table, got ", describeValue(node)));
              return;
            }
            Sub value;
            if constexpr (std::is_same_v<M, Sub>) value = out.*member;  // keep prepared defaults
            readTable(*table, key, 0, schema(), value, sink);
            out.*member = std::move(value);
          }};
}

// An array of tables such as [[pools]]; `header` ("[[pools]]") is how the user writes one.
// An empty array is an error: every array of tables in the schema needs at least one element.
template <class T, class Sub>
Field<T> tableArrayField(std::string_view name, std::vector<Sub> T::*member,
                         const TableSchema<Sub>& (*schema)(), std::string_view header) {
  return {name, [member, schema, header](const toml::node& node, const std::string& key, T& out,
                                         ErrorSink& sink) {
            const toml::array* array = node.as_array();
            if (array == nullptr) {
              sink.add(positionOf(node), key,
                       absl::StrCat("expected an array of tables written as ", core::toAbsl(header),
                                    ", got ", describeValue(node)));
              return;
            }
            if (array->empty()) {
              sink.add(positionOf(node), key,
                       absl::StrCat("expected at least one ", core::toAbsl(header),
                                    " table, got an empty array"));
              return;
            }
            std::vector<Sub> values;
            for (size_t i = 0; i < array->size(); ++i) {
              const toml::node& element = (*array)[i];
              const toml::table* table = element.as_table();
              // A placeholder keeps values[i] in step with the TOML index, which the document
              // checks rely on to find the node behind an element.
              Sub value;
              if (table == nullptr) {
                sink.add(positionOf(element), indexKey(key, i),
                         absl::StrCat("expected a table, got ", describeValue(element)));
              } else {
                readTable(*table, indexKey(key, i), i, schema(), value, sink);
              }
              values.push_back(std::move(value));
            }
            out.*member = std::move(values);
          }};
}

}  // namespace sy::routing::config
