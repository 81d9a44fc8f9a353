#pragma once

// A route's changes to the path it forwards: strip_prefix, then add_prefix, then rewrite, each
// on the result of the one before. The query string is kept as received. Built once per
// configuration; applying it is a few appends and, with a rewrite, one RE2 match (linear time).

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace re2 {
class RE2;
}

namespace sy::http {

class PathRewrite {
 public:
  PathRewrite();
  ~PathRewrite();
  PathRewrite(PathRewrite&&) noexcept;
  PathRewrite& operator=(PathRewrite&&) noexcept;

  // "/api" or "/api/": "/api" -> "/", "/api/users" -> "/users"; "/apix" is left alone.
  void setStripPrefix(std::string_view prefix);
  // "/v2": "/users" -> "/v2/users".
  void setAddPrefix(std::string_view prefix);
  // RE2 `pattern` searched in the path; the first match is replaced by `replacement`, where \1..\9
  // are the capture groups. Errors: a pattern RE2 refuses, a group the pattern lacks.
  absl::Status setRewrite(std::string_view pattern, std::string_view replacement);

  // `target`: origin-form "/path?query". Writes the target to forward into `out`.
  void apply(std::string_view target, std::string* out) const;

 private:
  std::string strip_prefix_;  // without a trailing '/'; empty: none
  std::string add_prefix_;    // without a trailing '/'; empty: none
  std::unique_ptr<re2::RE2> pattern_;
  std::string replacement_;
};

}  // namespace sy::http
