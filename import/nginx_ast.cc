#include "import/nginx_ast.h"

namespace sy::importer {

std::string NginxDirective::argsText() const {
  std::string text;
  for (const NginxArg& arg : args) {
    if (!text.empty()) text += ' ';
    text += arg.text;
  }
  return text;
}

std::string NginxDirective::summary() const {
  constexpr size_t kMaxLength = 70;
  std::string text = name;
  const std::string rest = argsText();
  if (!rest.empty()) text += ' ' + rest;
  if (text.size() > kMaxLength) text = text.substr(0, kMaxLength - 3) + "...";
  return text;
}

std::string NginxSyntaxError::format() const {
  if (position.line == 0) return position.file + ": " + message;  // a file that cannot be read
  return position.file + ":" + std::to_string(position.line) + ":" +
         std::to_string(position.column) + ": " + message;
}

}  // namespace sy::importer
