#include "proxy/control/etcd_fields.h"

#include <string>

#include "absl/strings/numbers.h"

namespace sy::proxy::control {

int64_t etcdInt64(const nlohmann::json& object, const char* name) {
  if (!object.is_object() || !object.contains(name)) return 0;
  const nlohmann::json& value = object[name];
  if (value.is_number_integer()) return value.get<int64_t>();
  int64_t parsed = 0;
  if (value.is_string() && absl::SimpleAtoi(value.get<std::string>(), &parsed)) return parsed;
  return 0;
}

}  // namespace sy::proxy::control
