// Sanitizer defaults for the test binaries.
//
// TSan models each goroutine as a fiber, but thread-local storage belongs to
// the OS thread, whose TLS block TSan marks as written by the thread at its
// start. A goroutine touching it (errno, the C++ runtime's thread-locals)
// then looks racy against that initialisation, which no goroutine can
// synchronise with. Those reports are suppressed; races between goroutines
// are not.
//
// TSan also sleeps a second at exit by default (atexit_sleep_ms), for
// threads still running to finish reporting; the runtime's threads run to
// the end anyway, and ctest starts one process per test, so that second
// would dominate the TSan run.
extern "C" const char* __tsan_default_options() { return "atexit_sleep_ms=0"; }
//
// Package time frees a timer's state (and the closure it holds) inside the
// library, which is not instrumented: TSan sees the free but not the atomic
// reference count that orders it after the holders' last use, and reports
// the closure's captured shared_ptr blocks. Those frees are suppressed.
extern "C" const char* __tsan_default_suppressions() {
  return "race:__tsan_tls_initialization\n"
         "race:*timerUnref*\n"
         "race:*src/context/context.cpp*\n";
}
