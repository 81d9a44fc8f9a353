#include "http/local_reply.h"

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace sy::http {

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string makeLocalReply(int status, std::string_view detail, bool close,
                           std::string_view http_date, bool head_request,
                           std::string_view extra_headers) {
  using core::toAbsl;
  const std::string_view reason = reasonPhrase(status);
  std::string body = absl::StrCat(status, " ", toAbsl(reason));
  if (!detail.empty()) absl::StrAppend(&body, ": ", toAbsl(detail));
  body.push_back('\n');
  std::string out = absl::StrCat(
      "HTTP/1.1 ", status, " ", toAbsl(reason),
      "\r\nServer: switchyard\r\nDate: ", toAbsl(http_date),
      "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ", body.size(), "\r\n");
  if (close) out.append("Connection: close\r\n");
  out.append(extra_headers);
  out.append("\r\n");
  if (!head_request) out.append(body);
  return out;
}

std::string makeFixedReply(int status, std::string_view content_type, std::string_view body,
                           bool close, std::string_view http_date, bool head_request,
                           std::string_view extra_headers) {
  using core::toAbsl;
  std::string out = absl::StrCat("HTTP/1.1 ", status, " ", toAbsl(reasonPhrase(status)),
                                 "\r\nServer: switchyard\r\nDate: ", toAbsl(http_date), "\r\n");
  if (!body.empty()) absl::StrAppend(&out, "Content-Type: ", toAbsl(content_type), "\r\n");
  // 204 and 304 carry no body and no Content-Length (RFC 9110 §8.6).
  const bool bodyless = status == 204 || status == 304;
  if (!bodyless) absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\n");
  if (close) out.append("Connection: close\r\n");
  out.append(extra_headers);
  out.append("\r\n");
  if (!head_request && !bodyless) out.append(body);
  return out;
}

}  // namespace sy::http
