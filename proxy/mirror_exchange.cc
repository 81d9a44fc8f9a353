#include "proxy/mirror_exchange.h"

#include "proxy/worker.h"

namespace sy::proxy {

MirrorExchange* MirrorExchange::start(Worker& worker, WorkerPool& pool, std::string head,
                                      bool head_request, const Settings& settings,
                                      std::shared_ptr<routing::MirrorStats> stats) {
  routing::MirrorWorkerStats& slot = stats->slot(worker.index());
  const int index = pool.balancer().pick({});
  if (index < 0) {
    slot.dropped.add();  // the shadow pool has no usable backend
    return nullptr;
  }
  auto* mirror = new MirrorExchange(worker, settings, std::move(stats));
  mirror->backend_ = pool.backend(static_cast<uint32_t>(index));
  mirror->backend_->requestStarted();
  int error = 0;
  mirror->upstream_ = mirror->backend_->acquire(&error);
  slot.sent.add();
  if (mirror->upstream_ == nullptr) {
    mirror->finish(Outcome::kFailed);
    mirror->attached_ = false;
    mirror->releaseIfDone();
    return nullptr;
  }
  mirror->head_ = std::move(head);
  mirror->upstream_->attach(mirror, head_request, /*upgrade_requested=*/false);
  mirror->upstream_->writeCopy(mirror->head_.data(), mirror->head_.size());
  worker.timeouts().schedule(mirror, settings.timeout_ms);
  return mirror;
}

MirrorExchange::MirrorExchange(Worker& worker, const Settings& settings,
                               std::shared_ptr<routing::MirrorStats> stats)
    : worker_(worker),
      settings_(settings),
      stats_owner_(std::move(stats)),
      stats_(stats_owner_->slot(worker.index())),
      started_ns_(uv_hrtime()) {
  worker_.mirrorStarted(this);
}

MirrorExchange::~MirrorExchange() {
  worker_.timeouts().cancel(this);
  worker_.mirrorFinished(this);
}

void MirrorExchange::body(const char* data, size_t length, uint64_t payload_bytes) {
  if (finished_) return;
  body_bytes_ += payload_bytes;
  // The copy never slows the primary: when the shadow cannot keep up, or the body is larger than
  // copies may be, the copy is given up instead.
  if (body_bytes_ > settings_.max_body_bytes ||
      upstream_->pendingWriteBytes() + length > settings_.max_buffer_bytes) {
    finish(Outcome::kDropped);
    return;
  }
  // Copied (or written through at once): the primary's buffers are not the copy's to keep.
  upstream_->writeCopy(data, length);
}

void MirrorExchange::requestComplete() {
  request_complete_ = true;
  if (!finished_) upstream_->requestComplete();
}

void MirrorExchange::detach() {
  attached_ = false;
  if (!request_complete_ && !finished_) finish(Outcome::kDropped);  // a copy cut short
  releaseIfDone();
}

void MirrorExchange::abort() {
  if (!finished_) finish(Outcome::kDropped);
  attached_ = false;
  releaseIfDone();
}

http::ParserCallbacks::HeadAction MirrorExchange::onUpstreamHead(
    const http::Http1Parser& response) {
  status_ = response.statusCode();
  return http::ParserCallbacks::kProceed;  // the body is read and dropped
}

void MirrorExchange::onUpstreamComplete() {
  upstream_ = nullptr;  // back in its pool
  finish(Outcome::kCompleted);
  releaseIfDone();
}

void MirrorExchange::onUpstreamFailure(upstream::UpstreamFailure, int, bool) {
  upstream_ = nullptr;
  finish(Outcome::kFailed);
  releaseIfDone();
}

void MirrorExchange::onTimeout() {
  finish(Outcome::kFailed);
  releaseIfDone();
}

void MirrorExchange::finish(Outcome outcome) {
  if (finished_) return;
  finished_ = true;
  worker_.timeouts().cancel(this);
  if (upstream_ != nullptr) {
    upstream_->abort();
    upstream_ = nullptr;
  }
  if (backend_ != nullptr) {
    backend_->requestFinished();
    backend_ = nullptr;
  }
  switch (outcome) {
    case Outcome::kCompleted:
      stats_.responses[std::min(std::max(status_ / 100, 1), 5) - 1].add();
      stats_.duration.observeNanos(uv_hrtime() - started_ns_);
      break;
    case Outcome::kFailed:
      stats_.failed.add();
      break;
    case Outcome::kDropped:
      stats_.dropped.add();
      break;
  }
}

void MirrorExchange::releaseIfDone() {
  if (finished_ && !attached_) delete this;
}

}  // namespace sy::proxy
