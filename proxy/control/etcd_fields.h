#pragma once

// What etcd v3's JSON gateway answers, read the way it writes it (etcd_client.h).

#include <cstdint>

#include "nlohmann/json.hpp"

namespace sy::proxy::control {

// Field `name` of `object` as an int64: the gateway writes int64 fields as strings, and leaves
// them out when zero. 0 when absent or unreadable.
int64_t etcdInt64(const nlohmann::json& object, const char* name);

}  // namespace sy::proxy::control
