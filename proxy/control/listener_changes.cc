#include "proxy/control/listener_changes.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "proxy/control/listener_sockets.h"

namespace sy::proxy::control {
namespace {

using routing::config::ListenerConfig;

const ListenerConfig* findByName(const routing::config::Config& config, const std::string& name) {
  for (const ListenerConfig& listener : config.listeners) {
    if (listener.name == name) return &listener;
  }
  return nullptr;
}

}  // namespace

absl::Status ListenerChanges::open(const routing::config::Config& running,
                                   const routing::config::Config& next, uint32_t workers) {
  for (const ListenerConfig& old : running.listeners) {
    const ListenerConfig* kept = findByName(next, old.name);
    if (kept == nullptr || kept->listen_text != old.listen_text || kept->backlog != old.backlog) {
      closed_names_.push_back(old.name);
    }
  }
  for (const ListenerConfig& listener : next.listeners) {
    const ListenerConfig* old = findByName(running, listener.name);
    if (old != nullptr && old->listen_text == listener.listen_text &&
        old->backlog == listener.backlog) {
      continue;
    }
    Opened opened;
    opened.name = listener.name;
    if (!openListenerSocket(listener, workers, &opened.fds, &opened.address)) {
      // openListenerSocket logged why (listen_failed); the destructor closes the others.
      return absl::FailedPreconditionError(
          absl::StrCat("listener ", listener.name, ": cannot listen on ", listener.listen_text,
                       " (see the listen_failed event); no listener changed"));
    }
    opened_.push_back(std::move(opened));
  }
  return absl::OkStatus();
}

std::vector<std::vector<int>> ListenerChanges::socketsAfter(
    const routing::config::Config& running, const routing::config::Config& next,
    const std::vector<std::vector<int>>& running_fds) const {
  std::vector<std::vector<int>> after(running_fds.size());
  for (size_t worker = 0; worker < running_fds.size(); ++worker) {
    for (const ListenerConfig& listener : next.listeners) {
      int fd = -1;
      for (const Opened& opened : opened_) {
        if (opened.name == listener.name) fd = opened.fds[worker];
      }
      for (size_t i = 0; fd < 0 && i < running.listeners.size(); ++i) {
        if (running.listeners[i].name == listener.name && i < running_fds[worker].size()) {
          fd = running_fds[worker][i];
        }
      }
      after[worker].push_back(fd);
    }
  }
  return after;
}

ListenerChanges::~ListenerChanges() {
  // Sockets no worker took (a failed reload, or a worker that stopped meanwhile).
  for (Opened& opened : opened_) {
    for (int fd : opened.fds) {
      if (fd >= 0) ::close(fd);
    }
  }
}

void ListenerChanges::resolve(const routing::ConfigSnapshot& before,
                              const routing::ConfigSnapshot& after) {
  for (const std::string& name : closed_names_) {
    for (const routing::ListenerSettings& listener : before.listeners) {
      if (listener.name == name) closed_ids_.push_back(listener.id);
    }
  }
  for (Opened& opened : opened_) {
    for (const routing::ListenerSettings& listener : after.listeners) {
      if (listener.name == opened.name) opened.id = listener.id;
    }
  }
}

void ListenerChanges::applyTo(Worker& worker) {
  std::vector<std::pair<uint32_t, int>> mine;
  for (Opened& opened : opened_) {
    mine.emplace_back(opened.id, opened.fds[worker.index()]);
    opened.fds[worker.index()] = -1;  // only this worker touches its own column
  }
  worker.updateListeners(closed_ids_, mine);
}

void ListenerChanges::log() const {
  for (const std::string& name : closed_names_) {
    core::logInfo("listener_closed", {{"listener", name}});
  }
  for (const Opened& opened : opened_) {
    core::logInfo("listening", {{"listener", opened.name}, {"address", opened.address}});
  }
}

}  // namespace sy::proxy::control
