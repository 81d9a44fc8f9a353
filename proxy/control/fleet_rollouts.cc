#include "proxy/control/fleet_rollouts.h"

#include <string>

#include "absl/strings/numbers.h"
#include "admin/metric_families.h"

namespace sy::proxy::control {

FleetRollouts::FleetRollouts(FleetSync& fleet, RolloutController& rollouts)
    : fleet_(fleet), rollouts_(rollouts), election_(fleet), figures_(fleet) {
  rollouts_.setFleet(&fleet_, &figures_);
  fleet_.setExtraState("rollouts", [this] { return rollouts_.fleetJson(); });
  election_.setOnChange([this](bool leading) { rollouts_.setLeading(leading); });
  figures_.setSource([this] { return rollouts_.localFigures(); },
                     [this] { return rollouts_.figuresPeriodMs(); });
  fleet_.addWatcher(
      {.on_reset = nullptr,
       .on_key = [this](const std::string& key, const nlohmann::json& kv, bool deleted) {
         if (deleted || key != fleet_.config().prefix + "/state") return;
         const nlohmann::json state = nlohmann::json::parse(
             EtcdClient::unbase64(kv.value("value", "")), nullptr, /*allow_exceptions=*/false);
         int64_t revision = 0;
         const nlohmann::json& mod = kv.value("mod_revision", nlohmann::json("0"));
         if (mod.is_string()) {
           if (!absl::SimpleAtoi(mod.get<std::string>(), &revision)) revision = 0;
         } else if (mod.is_number_integer()) {
           revision = mod.get<int64_t>();
         }
         if (!state.is_object() || !state.contains("rollouts")) return;
         rollouts_.onFleetState(state["rollouts"], revision);
       }});
}

void FleetRollouts::start(uv_loop_t* loop) {
  if (!fleet_.enabled()) return;
  election_.start(loop);
  figures_.start(loop);
}

void FleetRollouts::close() {
  election_.close();
  figures_.close();
}

void FleetRollouts::addStatus(nlohmann::json& fleet) const {
  election_.addStatus(fleet);
  figures_.addStatus(fleet);
}

void FleetRollouts::collectMetrics(std::vector<prometheus::MetricFamily>* out) const {
  admin::addUnlabeledFamily(
      out, "switchyard_fleet_leader",
      "1 while this instance is the fleet's leader (it runs the automated rollouts)",
      prometheus::MetricType::Gauge, election_.leading() ? 1 : 0);
}

}  // namespace sy::proxy::control
