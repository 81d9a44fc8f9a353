#include "import/import_warnings.h"

#include <algorithm>
#include <tuple>

namespace sy::importer {
namespace {

const char* kindName(WarningKind kind) {
  switch (kind) {
    case WarningKind::kUnsupported:
      return "unsupported";
    case WarningKind::kApproximated:
      return "approximated";
    case WarningKind::kIgnored:
      return "ignored";
  }
  return "unsupported";
}

}  // namespace

std::string ImportWarning::format() const {
  return position.file + ":" + std::to_string(position.line) + ": " + directive + ": " +
         kindName(kind) + ": " + reason;
}

void Warnings::add(const NginxDirective& directive, WarningKind kind, std::string reason) {
  warnings_.push_back({directive.position, directive.summary(), kind, std::move(reason)});
}

std::string Warnings::format() const {
  std::vector<ImportWarning> sorted = warnings_;
  // Files in the order they were first warned about, lines in order within a file.
  std::vector<std::string> file_order;
  for (const ImportWarning& warning : warnings_) {
    if (std::find(file_order.begin(), file_order.end(), warning.position.file) ==
        file_order.end()) {
      file_order.push_back(warning.position.file);
    }
  }
  auto file_rank = [&](const std::string& file) {
    return std::find(file_order.begin(), file_order.end(), file) - file_order.begin();
  };
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const ImportWarning& a, const ImportWarning& b) {
                     return std::make_tuple(file_rank(a.position.file), a.position.line) <
                            std::make_tuple(file_rank(b.position.file), b.position.line);
                   });
  std::string text;
  for (const ImportWarning& warning : sorted) text += warning.format() + "\n";
  return text;
}

}  // namespace sy::importer
