#pragma once

// The syntax tree of an nginx configuration: directives with their arguments, some with a
// block of nested directives. Every node keeps the file and position it came from, so that
// warnings and errors can point at it after `include` has spliced files together.

#include <string>
#include <vector>

namespace sy::importer {

struct SourcePosition {
  std::string file;
  int line = 0;
  int column = 0;
};

struct NginxArg {
  std::string text;     // unquoted and unescaped
  bool quoted = false;  // written in "..." or '...'
  int line = 0;
  int column = 0;
};

struct NginxDirective {
  std::string name;
  std::vector<NginxArg> args;
  SourcePosition position;
  bool has_block = false;  // `name args { ... }` rather than `name args;`
  std::vector<NginxDirective> block;

  // The argument texts joined by spaces, for messages.
  std::string argsText() const;
  // "name arg1 arg2", cut to about 70 characters, for messages.
  std::string summary() const;
};

// A parse failure: `file:line:column: message`.
struct NginxSyntaxError {
  SourcePosition position;
  std::string message;
  std::string format() const;
};

}  // namespace sy::importer
