// sigqueue.hpp: delivery of notified signals to package os/signal
// (sigqueue.cpp).
#pragma once

namespace gort::internal {

// Called once per signal, on the signal delivery thread (not a goroutine),
// for each pending notified signal. Installed by package os/signal.
using SignalDeliverFn = void (*)(int sig);

// At start (initSignals): catch the signals whose default Go changes
// (kill and ignore classes, sigqueue.cpp), recording what was there.
void initSignalDispositions();
void signalEnable(int sig, SignalDeliverFn deliver);  // os/signal.Notify
void signalDisable(int sig);                         // Stop/Reset: the disposition Go would have
void signalIgnore(int sig);                          // Ignore: SIG_IGN
bool signalIgnored(int sig);
// Whether os/signal's delivery thread runs (since the first Notify): a
// signal may still wake a goroutine, so checkdead reports no deadlock.
bool signalsWatched();
// True if sig was taken by the notification path (called from the runtime's
// own handlers for signals it also uses, e.g. SIGURG, SIGPIPE).
bool sigsend(int sig);

}  // namespace gort::internal
