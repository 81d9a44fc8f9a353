#include "proxy/control/fleet_figures.h"

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "core/log.h"

namespace sy::proxy::control {
namespace {

constexpr uint64_t kFiguresTickMs = 100;

bool wentDown(const PoolReading& now, const PoolReading& before) {
  for (size_t c = 0; c < now.responses.size(); ++c) {
    if (now.responses[c] < before.responses[c]) return true;
  }
  for (size_t b = 0; b < now.duration.buckets.size(); ++b) {
    if (now.duration.buckets[b] < before.duration.buckets[b]) return true;
  }
  return now.duration.sum_nanos < before.duration.sum_nanos;
}

void addDifference(const PoolReading& now, const PoolReading& before, PoolReading* total) {
  for (size_t c = 0; c < now.responses.size(); ++c) {
    total->responses[c] += now.responses[c] - before.responses[c];
  }
  for (size_t b = 0; b < now.duration.buckets.size(); ++b) {
    total->duration.buckets[b] += now.duration.buckets[b] - before.duration.buckets[b];
  }
  total->duration.sum_nanos += now.duration.sum_nanos - before.duration.sum_nanos;
}

}  // namespace

FleetFigures::FleetFigures(FleetSync& fleet) : fleet_(fleet) {
  fleet_.addWatcher({.on_reset = [this] { sources_.clear(); },
                     .on_key =
                         [this](const std::string& key, const nlohmann::json& kv, bool deleted) {
                           if (absl::StartsWith(key, prefix())) {
                             onKey(key.substr(prefix().size()), kv, deleted);
                           }
                         }});
}

nlohmann::json FleetFigures::toJson(const Readings& readings) {
  nlohmann::json routes = nlohmann::json::object();
  for (const auto& [key, reading] : readings) {
    routes[key.first][key.second] = {{"responses", reading.responses},
                                     {"buckets", reading.duration.buckets},
                                     {"sum_nanos", reading.duration.sum_nanos}};
  }
  return {{"routes", routes}};
}

FleetFigures::Readings FleetFigures::fromJson(const nlohmann::json& json) {
  Readings readings;
  if (!json.is_object() || !json.contains("routes") || !json["routes"].is_object()) return readings;
  for (const auto& [route, pools] : json["routes"].items()) {
    if (!pools.is_object()) continue;
    for (const auto& [pool, figures] : pools.items()) {
      PoolReading reading;
      try {
        const auto responses = figures.at("responses").get<std::vector<uint64_t>>();
        const auto buckets = figures.at("buckets").get<std::vector<uint64_t>>();
        if (responses.size() != reading.responses.size() ||
            buckets.size() != reading.duration.buckets.size()) {
          continue;  // another build's histogram: not comparable
        }
        std::copy(responses.begin(), responses.end(), reading.responses.begin());
        std::copy(buckets.begin(), buckets.end(), reading.duration.buckets.begin());
        reading.duration.sum_nanos = figures.at("sum_nanos").get<uint64_t>();
      } catch (const nlohmann::json::exception&) {
        continue;
      }
      readings[{route, pool}] = reading;
    }
  }
  return readings;
}

void FleetFigures::start(uv_loop_t* loop) {
  if (!fleet_.enabled()) return;
  loop_ = loop;
  timer_.init(loop, uv_timer_init);
  timer_.get()->data = this;
  uv_timer_start(
      timer_.get(), [](uv_timer_t* timer) { static_cast<FleetFigures*>(timer->data)->tick(); },
      kFiguresTickMs, kFiguresTickMs);
}

void FleetFigures::close() {
  closed_ = true;
  timer_.reset();
}

uint64_t FleetFigures::staleAfterMs() const {
  const uint64_t period = period_ms_ ? period_ms_() : 0;
  return std::max<uint64_t>(3 * period, 1000);
}

void FleetFigures::tick() {
  if (closed_ || !local_ || !period_ms_) return;
  const uint64_t period = period_ms_();
  if (period == 0 || publishing_ || !fleet_.connected() || fleet_.leaseId().empty()) return;
  const uint64_t now = uv_now(loop_);
  if (published_ms_ != 0 && now - published_ms_ < period) return;
  published_ms_ = now;
  publish();
}

void FleetFigures::publish() {
  publishing_ = true;
  const nlohmann::json figures = toJson(local_());
  fleet_.etcd()->call(
      "/v3/kv/put",
      {{"key", EtcdClient::base64(prefix() + fleet_.instanceId())},
       {"value", EtcdClient::base64(figures.dump())},
       {"lease", fleet_.leaseId()}},
      [this](absl::StatusOr<nlohmann::json> answer) {
        publishing_ = false;
        if (!answer.ok() && !closed_) {
          core::logWarn("fleet_figures_not_published", {{"error", answer.status().message()}});
        }
      });
}

void FleetFigures::onKey(const std::string& id, const nlohmann::json& kv, bool deleted) {
  if (id == fleet_.instanceId() || loop_ == nullptr) return;  // its own: read from its workers
  if (deleted) {
    sources_.erase(id);
    return;
  }
  const nlohmann::json parsed = nlohmann::json::parse(EtcdClient::unbase64(kv.value("value", "")),
                                                      nullptr, /*allow_exceptions=*/false);
  Readings now = fromJson(parsed);
  const uint64_t now_ms = uv_now(loop_);
  auto it = sources_.find(id);
  const bool fresh = it != sources_.end() && now_ms - it->second.received_ms <= staleAfterMs();
  if (fresh) {
    for (const auto& [key, reading] : now) {
      auto before = it->second.last.find(key);
      if (before == it->second.last.end()) continue;  // a new pair: its starting point
      if (wentDown(reading, before->second)) {
        addDifference(reading, PoolReading{}, &others_[key]);  // restarted: counts from zero
      } else {
        addDifference(reading, before->second, &others_[key]);
      }
    }
  }
  Source& source = sources_[id];
  source.last = std::move(now);
  source.received_ms = now_ms;
}

void FleetFigures::addOthers(const std::string& route, const std::string& pool,
                             PoolReading* reading) const {
  auto it = others_.find({route, pool});
  if (it == others_.end()) return;
  addDifference(it->second, PoolReading{}, reading);
}

void FleetFigures::addStatus(nlohmann::json& fleet) const {
  nlohmann::json sources = nlohmann::json::array();
  const uint64_t now_ms = loop_ != nullptr ? uv_now(loop_) : 0;
  for (const auto& [id, source] : sources_) {
    const uint64_t age = now_ms >= source.received_ms ? now_ms - source.received_ms : 0;
    sources.push_back({{"id", id}, {"age_ms", age}, {"counted", age <= staleAfterMs()}});
  }
  fleet["figures"] = sources;
}

}  // namespace sy::proxy::control
