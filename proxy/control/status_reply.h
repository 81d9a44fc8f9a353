#pragma once

// Turning the control thread's absl::Status results into admin answers.

#include <string>

#include "absl/status/status.h"
#include "admin/control_plane.h"

namespace sy::proxy::control {

// The HTTP status of a refused traffic change.
inline int httpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

// The answer when a change did not reach every worker (Publisher's `done` got an error):
// 503 while shutting down, else 500 with the code "worker_post_failed".
inline admin::Reply publishFailureReply(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kUnavailable) {
    return admin::errorReply(503, "shutting down");
  }
  admin::Reply reply = admin::errorReply(500, std::string(status.message()));
  reply.body["code"] = "worker_post_failed";
  return reply;
}

// Answers `respond` with the error of `status` unless it is OK; returns whether it was.
inline bool answerIfRefused(const absl::Status& status, const admin::Responder& respond) {
  if (status.ok()) return true;
  respond(admin::errorReply(httpStatusOf(status), std::string(status.message())));
  return false;
}

}  // namespace sy::proxy::control
