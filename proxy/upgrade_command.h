#pragma once

// `switchyard upgrade [HOST:PORT] [--binary PATH]`: asks the running proxy, through its admin
// API (POST /admin/upgrade), for a hot binary upgrade, and waits for the outcome. Prints the
// answer; exit status 0 when the new process took over, 1 when the upgrade failed (the running
// process keeps serving; the reason is printed), 2 on a usage error.
// HOST:PORT defaults to $SWITCHYARD_ADMIN, else 127.0.0.1:9901; the bearer token, if the admin
// API has one, comes from $SWITCHYARD_ADMIN_TOKEN.

namespace sy::proxy {

int runUpgradeCommand(int argc, char** argv);

}  // namespace sy::proxy
