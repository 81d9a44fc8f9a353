#pragma once

// Rules a message head must meet beyond what llhttp checks, shared by requests and responses.
// Each answers one question about already-parsed values; Http1Parser applies them once the head
// is complete, before anything is routed or forwarded.

#include <string_view>

#include "http/header_block.h"

namespace sy::http {

// What a Transfer-Encoding field list says, for framing decisions llhttp leaves to us.
struct TransferCodings {
  bool present = false;       // at least one Transfer-Encoding field
  bool empty_member = false;  // a field (or list member) with no coding: "Transfer-Encoding:"
  int chunked_count = 0;      // "chunked" applied more than once is invalid (RFC 9112 §6.1)
};
TransferCodings readTransferCodings(const HeaderBlock& headers);

// True when a Connection field lists the "close" option (tokens compared case-insensitively,
// optional whitespace around them ignored, HTAB included: RFC 9110 §5.5, §7.6.1).
bool connectionListsClose(const HeaderBlock& headers);

// A Host value is uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): reg-name characters,
// an IPv6/IPvFuture literal in brackets, and digits after the colon. Empty is allowed (RFC 9112
// §3.2: a request without an authority sends an empty Host).
bool isValidHostValue(std::string_view host);

// True when some field has an empty name (": x"), which RFC 9110 §5.1 does not allow.
bool hasEmptyFieldName(const HeaderBlock& headers);

}  // namespace sy::http
