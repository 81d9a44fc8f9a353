#pragma once

// Tells the service manager (systemd, Type=notify) where the process is in its life, through
// sd_notify(3). Every call does nothing when NOTIFY_SOCKET is unset, i.e. when not run by a
// service manager that asked for it. Called from the control thread only.

namespace sy::proxy {

// Every listener accepts and every worker runs: systemd may start the units ordered after us.
void notifyReady();
// A reload began (SIGHUP or admin). systemd >= 253 (Type=notify-reload) also wants
// MONOTONIC_USEC; older versions ignore it. notifyReady() ends the reload, applied or refused.
void notifyReloading();
// A hot upgrade's new process `pid` is ready and takes over: systemd tracks it as the main
// process from now on (this one drains and exits). Sent by the old process, the main one, so
// that NotifyAccess=main accepts it.
void notifyMainPid(int pid);
// Graceful shutdown began: in-flight requests drain, new connections are refused.
void notifyStopping();

}  // namespace sy::proxy
