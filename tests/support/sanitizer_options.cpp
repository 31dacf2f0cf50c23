// Sanitizer defaults for the test binaries. gort's crash reporter (stack
// overflow, fatal signals) formats its report inside the signal handler,
// allocating as it goes: the process is about to die and the report matters
// more than async-signal safety, so TSan is told not to flag that.
extern "C" const char* __tsan_default_options() { return "report_signal_unsafe=0"; }
