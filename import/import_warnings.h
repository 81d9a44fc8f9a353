#pragma once

// What the import could not carry over, one entry per nginx directive, printed on stderr as
//   FILE:LINE: DIRECTIVE ARGS: KIND: WHY
// KIND is "unsupported" (Switchyard has no equivalent: the directive is dropped),
// "approximated" (carried over as something close, the message says what) or "ignored" (the
// directive has no meaning for a proxy like Switchyard, such as worker_processes).

#include <string>
#include <vector>

#include "import/nginx_ast.h"

namespace sy::importer {

enum class WarningKind { kUnsupported, kApproximated, kIgnored };

struct ImportWarning {
  SourcePosition position;
  std::string directive;  // NginxDirective::summary()
  WarningKind kind = WarningKind::kUnsupported;
  std::string reason;
  std::string format() const;
};

class Warnings {
 public:
  void unsupported(const NginxDirective& directive, std::string reason) {
    add(directive, WarningKind::kUnsupported, std::move(reason));
  }
  void approximated(const NginxDirective& directive, std::string reason) {
    add(directive, WarningKind::kApproximated, std::move(reason));
  }
  void ignored(const NginxDirective& directive, std::string reason) {
    add(directive, WarningKind::kIgnored, std::move(reason));
  }
  void add(const NginxDirective& directive, WarningKind kind, std::string reason);

  const std::vector<ImportWarning>& all() const { return warnings_; }
  bool empty() const { return warnings_.empty(); }
  // One line per warning, each ending in '\n', in file and line order.
  std::string format() const;

 private:
  std::vector<ImportWarning> warnings_;
};

}  // namespace sy::importer
