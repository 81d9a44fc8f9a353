#include "health/health_checker.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/uv_handle.h"

namespace sy::health {

using routing::AdminState;
using routing::HealthState;
using routing::config::HealthCheckConfig;

struct HealthChecker::Session {
  HealthChecker* owner = nullptr;
  std::string pool;
  std::string address_text;
  core::NetAddress address;
  HealthCheckConfig check;
  std::shared_ptr<const tls::ClientContext> tls;  // the pool's, when it has `tls`
  core::UvHandle<uv_timer_t> timer;
  std::shared_ptr<Probe> probe;  // the check in flight, if any

  ~Session() {
    if (probe) probe->cancel();
  }
};

HealthChecker::HealthChecker(uv_loop_t* loop, BackendStateTable& table, Callbacks callbacks)
    : loop_(loop), table_(table), callbacks_(std::move(callbacks)) {
  timeouts_.init(loop_);
}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::stop() {
  if (stopped_) return;
  stopped_ = true;
  sessions_.clear();
  timeouts_.close();
}

void HealthChecker::configure(const routing::config::Config& config, const PoolTls& pool_tls) {
  if (stopped_) return;
  core::StringMap<std::unique_ptr<Session>> next;
  for (const auto& pool : config.pools) {
    if (!pool.health_check) continue;
    for (const auto& backend : pool.backends) {
      const std::string key = absl::StrCat(pool.name, "\n", backend.address_text);
      std::unique_ptr<Session> session;
      if (auto it = sessions_.find(key); it != sessions_.end()) session = std::move(it->second);
      const bool fresh = session == nullptr;
      if (fresh) {
        session = std::make_unique<Session>();
        session->owner = this;
        session->timer.init(loop_, uv_timer_init);
        session->timer.get()->data = session.get();
      }
      session->pool = pool.name;
      session->address_text = backend.address_text;
      session->address = backend.address;
      session->check = *pool.health_check;
      session->tls = pool.tls.has_value() && pool_tls ? pool_tls(pool.name) : nullptr;
      if (fresh) schedule(*session, true);
      next[key] = std::move(session);
    }
  }
  sessions_.swap(next);  // sessions left in `next` were removed: destroying them stops them
}

void HealthChecker::checkNow(const std::string& pool, const std::string& address) {
  if (stopped_) return;
  auto it = sessions_.find(absl::StrCat(pool, "\n", address));
  if (it == sessions_.end()) return;
  Session& session = *it->second;
  if (session.probe) {
    session.probe->cancel();
    session.probe.reset();
  }
  uv_timer_stop(session.timer.get());
  runCheck(session);
}

void HealthChecker::schedule(Session& session, bool first) {
  uint64_t delay_ms =
      first ? 0 : static_cast<uint64_t>(absl::ToInt64Milliseconds(session.check.interval));
  const int64_t jitter_ms = absl::ToInt64Milliseconds(session.check.jitter);
  if (jitter_ms > 0) {
    delay_ms += static_cast<uint64_t>(random_() % static_cast<uint64_t>(jitter_ms + 1));
  }
  uv_timer_start(session.timer.get(), &HealthChecker::onTimer, delay_ms, 0);
}

void HealthChecker::onTimer(uv_timer_t* timer) {
  auto* session = static_cast<Session*>(timer->data);
  session->owner->runCheck(*session);
}

void HealthChecker::runCheck(Session& session) {
  BackendRecord* record = table_.find(session.pool, session.address_text);
  if (record == nullptr) return;
  if (record->admin == AdminState::kDisabled) {  // maintenance: not checked
    schedule(session, false);
    return;
  }
  const std::string host = session.check.host.empty() ? session.address_text : session.check.host;
  const std::string pool = session.pool;
  const std::string address = session.address_text;
  session.probe = Probe::start(
      loop_, timeouts_, session.address, session.check, host,
      [this, &session, pool, address](const ProbeResult& result) {
        session.probe.reset();
        BackendRecord* current = table_.find(pool, address);
        if (current != nullptr) {
          current->last_check = absl::Now();
          current->last_check_ms = static_cast<double>(result.duration_ns) / 1e6;
          current->last_error = result.error;
          (result.passed ? current->checks_passed : current->checks_failed) += 1;
          current->awaiting_check = false;  // the verdict below is fresh: unknown always moves
          const HealthState from = current->health;
          const HealthState to =
              nextHealth(from, result.passed, current->counters, session.check.healthy_threshold,
                         session.check.unhealthy_threshold);
          if (callbacks_.on_result) callbacks_.on_result(*current, result);
          if (to != from) {
            current->health = to;
            table_.touch(pool);
            if (callbacks_.on_transition) {
              callbacks_.on_transition(
                  Transition{current, from, to, result.passed ? "passed" : result.error});
            }
          }
        }
        schedule(session, false);
      },
      session.tls);
}

}  // namespace sy::health
