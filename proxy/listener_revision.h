#pragma once

#include "routing/snapshot.h"

namespace sy::proxy {

// Whether a reload that turns a listener's settings from `before` into `after` must end the
// connections accepted under `before` (gracefully: HTTP/2 gets GOAWAY, HTTP/1.1 keep-alive ends
// after the response in progress). Those are the settings a connection fixes when it begins and
// would otherwise keep for its whole life: the address it was accepted on, TLS on or off, the
// PROXY header, whether it may speak HTTP/2 and the HTTP/2 limits it announced in its SETTINGS.
// Everything else (timeouts, request limits, routes, certificates) applies to the next request
// of a connection already open, so a reload that changes only those leaves connections alone.
bool listenerChangeEndsConnections(const routing::ListenerSettings& before,
                                   const routing::ListenerSettings& after);

}  // namespace sy::proxy
