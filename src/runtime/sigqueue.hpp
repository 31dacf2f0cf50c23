// sigqueue.hpp: delivery of notified signals to package os/signal
// (sigqueue.cpp).
#pragma once

namespace gort::internal {

// Called once per signal, on the signal delivery thread (not a goroutine),
// for each pending notified signal. Installed by package os/signal.
using SignalDeliverFn = void (*)(int sig);

void signalEnable(int sig, SignalDeliverFn deliver);  // os/signal.Notify
void signalDisable(int sig);                         // Stop/Reset: default action again
void signalIgnore(int sig);                          // Ignore: SIG_IGN
bool signalIgnored(int sig);
// True if sig was taken by the notification path (called from the runtime's
// own handlers for signals it also uses, e.g. SIGURG, SIGPIPE).
bool sigsend(int sig);

}  // namespace gort::internal
