#include "http/path_rewrite.h"

#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "re2/re2.h"

namespace sy::http {
namespace {

std::string_view withoutTrailingSlash(std::string_view prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  return prefix;
}

}  // namespace

PathRewrite::PathRewrite() = default;
PathRewrite::~PathRewrite() = default;
PathRewrite::PathRewrite(PathRewrite&&) noexcept = default;
PathRewrite& PathRewrite::operator=(PathRewrite&&) noexcept = default;

void PathRewrite::setStripPrefix(std::string_view prefix) {
  strip_prefix_ = std::string(withoutTrailingSlash(prefix));
}

void PathRewrite::setAddPrefix(std::string_view prefix) {
  add_prefix_ = std::string(withoutTrailingSlash(prefix));
}

absl::Status PathRewrite::setRewrite(std::string_view pattern, std::string_view replacement) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto compiled =
      std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!compiled->ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid pattern: ", compiled->error()));
  }
  std::string error;
  if (!compiled->CheckRewriteString(re2::StringPiece(replacement.data(), replacement.size()),
                                    &error)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid replacement: ", error));
  }
  pattern_ = std::move(compiled);
  replacement_ = std::string(replacement);
  return absl::OkStatus();
}

void PathRewrite::apply(std::string_view target, std::string* out) const {
  const size_t query_start = target.find('?');
  std::string_view path = target.substr(0, query_start);
  const std::string_view query =
      query_start == std::string_view::npos ? std::string_view() : target.substr(query_start);
  if (!strip_prefix_.empty() && path.starts_with(strip_prefix_) &&
      (path.size() == strip_prefix_.size() || path[strip_prefix_.size()] == '/')) {
    path.remove_prefix(strip_prefix_.size());
  }
  out->clear();
  out->reserve(add_prefix_.size() + target.size() + 1);
  out->append(add_prefix_);
  if (path.empty()) {
    out->push_back('/');
  } else {
    out->append(path);
  }
  if (pattern_ != nullptr) {
    re2::RE2::Replace(out, *pattern_, re2::StringPiece(replacement_.data(), replacement_.size()));
    // The backend needs an origin-form target.
    if (out->empty() || out->front() != '/') out->insert(out->begin(), '/');
  }
  out->append(query);
}

}  // namespace sy::http
