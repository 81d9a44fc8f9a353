#include "admin/admin_request.h"

namespace sy::admin {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool percentDecode(std::string_view in, std::string* out, bool plus_is_space) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+' && plus_is_space) {
      out->push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int high = hexValue(in[i + 1]);
      const int low = hexValue(in[i + 2]);
      if (high < 0 || low < 0) return false;
      out->push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

std::optional<std::string> AdminRequest::param(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

AdminRequest parseAdminTarget(std::string_view method, std::string_view target) {
  AdminRequest request;
  request.method = std::string(method);
  const size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  request.target = std::string(target);
  if (question == std::string_view::npos) return request;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const size_t equals = pair.find('=');
      std::string name;
      std::string value;
      // Form encoding ("+" for a space), as curl --data-urlencode produces.
      if (!percentDecode(pair.substr(0, equals), &name, true) ||
          (equals != std::string_view::npos &&
           !percentDecode(pair.substr(equals + 1), &value, true))) {
        request.malformed_query = true;
      } else {
        request.query[name] = value;
      }
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return request;
}

}  // namespace sy::admin
