#pragma once

// `switchyard healthcheck [HOST:PORT] [PATH]`: one GET to the admin API, for container
// HEALTHCHECKs and exec probes in images that have no curl. Exit status 0 when the answer is
// 200 within two seconds, 1 otherwise (with the reason on stderr).
// HOST:PORT defaults to $SWITCHYARD_ADMIN, else 127.0.0.1:9901; PATH to /healthz.

namespace sy::proxy {

int runHealthProbe(int argc, char** argv);

}  // namespace sy::proxy
