#include "http/value_template.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace sy::http {
namespace {

constexpr std::array<std::pair<std::string_view, TemplateVariable>, 8> kVariables = {{
    {"client_ip", TemplateVariable::kClientIp},
    {"scheme", TemplateVariable::kScheme},
    {"host", TemplateVariable::kHost},
    {"path", TemplateVariable::kPath},
    {"route", TemplateVariable::kRoute},
    {"pool", TemplateVariable::kPool},
    {"backend", TemplateVariable::kBackend},
    {"request_id", TemplateVariable::kRequestId},
}};

std::string knownNames() {
  std::string out;
  for (const auto& [name, variable] : kVariables) {
    if (!out.empty()) out.append(", ");
    absl::StrAppend(&out, "{", core::toAbsl(name), "}");
  }
  return out;
}

}  // namespace

std::string_view TemplateValues::get(TemplateVariable variable) const {
  switch (variable) {
    case TemplateVariable::kClientIp:
      return client_ip;
    case TemplateVariable::kScheme:
      return scheme;
    case TemplateVariable::kHost:
      return host;
    case TemplateVariable::kPath:
      return path;
    case TemplateVariable::kRoute:
      return route;
    case TemplateVariable::kPool:
      return pool;
    case TemplateVariable::kBackend:
      return backend;
    case TemplateVariable::kRequestId:
      return request_id;
  }
  return {};
}

absl::StatusOr<ValueTemplate> ValueTemplate::compile(std::string_view text) {
  ValueTemplate out;
  std::string literal;
  auto flush = [&] {
    if (literal.empty()) return;
    out.pieces_.push_back(Piece{std::move(literal), -1});
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n' || c == '\0') {
      return absl::InvalidArgumentError("a value cannot contain CR, LF or NUL");
    }
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') ++i;
      literal.push_back('}');
      continue;
    }
    if (c != '{') {
      literal.push_back(c);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      ++i;
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("unclosed '{' at offset ", i, " (write {{ for a literal brace)"));
    }
    const std::string_view name = text.substr(i + 1, close - i - 1);
    int found = -1;
    for (const auto& [known, variable] : kVariables) {
      if (known == name) found = static_cast<int>(variable);
    }
    if (found < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown variable {", core::toAbsl(name), "} (known: ", knownNames(), ")"));
    }
    flush();
    out.pieces_.push_back(Piece{{}, found});
    i = close;
  }
  flush();
  return out;
}

void ValueTemplate::expandTo(const TemplateValues& values, std::string* out) const {
  for (const Piece& piece : pieces_) {
    if (piece.variable < 0) {
      out->append(piece.literal);
    } else {
      out->append(values.get(static_cast<TemplateVariable>(piece.variable)));
    }
  }
}

std::string ValueTemplate::expand(const TemplateValues& values) const {
  std::string out;
  expandTo(values, &out);
  return out;
}

bool ValueTemplate::uses(TemplateVariable variable) const {
  for (const Piece& piece : pieces_) {
    if (piece.variable == static_cast<int>(variable)) return true;
  }
  return false;
}

}  // namespace sy::http
