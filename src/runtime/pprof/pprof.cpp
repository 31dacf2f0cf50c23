// pprof.cpp: package runtime/pprof (mirrors runtime/pprof/pprof.go): the
// CPU profile's writer, the predefined and custom profiles, and their
// proto and text forms.
//
// CPU profile. StartCPUProfile sets the runtime's rate (cpuprof.cpp) and
// starts a reader thread that drains the sample ring (profbuf.cpp) every
// 50 ms into a table from (stack, label set) to a count, so the ring never
// has to hold more than a fraction of a second. StopCPUProfile stops
// sampling, joins the reader, drains the rest and writes one profile.proto
// with samples/count and cpu/nanoseconds values (period 1e9/hz), as Go's
// profile has. The reader is a plain thread, not a goroutine: it only moves
// memory, and must keep up even when every P is busy. Symbolisation runs at
// Stop, on the caller's goroutine.
//
// Predefined profiles are built when written: goroutine (every user
// goroutine's stack, the world stopped meanwhile, as Go's
// goroutineProfileWithLabels; a goroutine in a system call has only its
// creator's pc), threadcreate (the stack that started each M), heap and
// allocs (mprof.cpp's sampled records, unbiased by size and rate as Go's
// scaleHeapSample), block and mutex (mprof.cpp; mutex values scaled by the
// sampling fraction, as Go 1.19 does). Custom profiles keep value -> stack
// under their own lock.
//
// Lock order: cpu.mu, then the runtime's (the reader takes none); a custom
// profile's lock is a leaf.
#include "gort/pprof.hpp"

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/os.hpp"
#include "gort/panic.hpp"
#include "gort/runtime.hpp"
#include "gort/runtime_stack.hpp"
#include "gort/signal.hpp"
#include "gort/syscall.hpp"
#include "runtime/cpuprof.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/pprof/label.hpp"
#include "runtime/pprof/proto.hpp"
#include "runtime/proc.hpp"
#include "runtime/traceback.hpp"

namespace gort::pprof {

namespace {

using gort::internal::ProfLabels;
using internal::ProfileData;
using internal::Sample;
using Stack = std::vector<uintptr_t>;
using Labels = std::vector<std::pair<std::string, std::string>>;

int64_t wallNanos() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct StackHash {
  size_t operator()(const Stack& s) const {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uintptr_t pc : s) h = (h ^ pc) * 0x100000001b3ull;
    return size_t(h);
  }
};

// ---- CPU profile ----

struct CPUKey {
  Stack stack;
  ProfLabels* labels;  // one reference, held by the table
  bool operator==(const CPUKey& o) const { return labels == o.labels && stack == o.stack; }
};
struct CPUKeyHash {
  size_t operator()(const CPUKey& k) const { return StackHash{}(k.stack) ^ std::hash<const void*>{}(k.labels); }
};

struct CPUState {
  std::mutex mu;  // guards the fields below except counts (the reader's until joined)
  bool on = false;
  detail::WriteFn write = nullptr;
  void* w = nullptr;
  int hz = 0;
  int64_t start = 0, startMono = 0;
  std::thread reader;
  std::mutex stopMu;
  std::condition_variable stopCv;
  bool stop = false;  // stopMu
  std::unordered_map<CPUKey, int64_t, CPUKeyHash> counts;
  uint64_t lost = 0;

  void drain() {
    gort::internal::ProfRecord r;
    while (gort::internal::cpuprofRead(&r)) {
      CPUKey key{Stack(r.pcs, r.pcs + r.n), r.labels};
      auto [it, added] = counts.try_emplace(std::move(key), 0);
      if (!added) gort::internal::labelsRelease(r.labels);  // the table holds one already
      it->second++;
    }
    lost += gort::internal::cpuprofLost();
  }

  void readLoop() {
    std::unique_lock<std::mutex> lk(stopMu);
    while (!stop) {
      stopCv.wait_for(lk, std::chrono::milliseconds(50));
      drain();
    }
  }
};

CPUState& cpu() {
  static auto* s = new CPUState;
  return *s;
}

Labels labelsCopy(const ProfLabels* l) { return l ? l->kv : Labels{}; }

// Another goroutine's set, copied with the world stopped. Its goroutine may
// release it as soon as the world restarts; the reference held across the
// copy orders the copy before that release (the count's acq_rel), as the
// race detector needs to see.
Labels labelsCopyOf(gort::internal::g* gp) {
  ProfLabels* l = gort::internal::labelsRetain(gp->labels);
  Labels kv = labelsCopy(l);
  gort::internal::labelsRelease(l);
  return kv;
}

// ---- text formats ----

void appendf(std::string* out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string* out, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (size_t(n) < sizeof buf) {
    out->append(buf, size_t(n));
    return;
  }
  std::string big(size_t(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  big.resize(size_t(n));
  out->append(big);
}

// " 0x1 0x2\n" and "#\t0x..\tname+0x..\tfile:line" lines, as Go's printStackRecord.
void appendStack(std::string* out, const Stack& stk) {
  for (uintptr_t pc : stk) appendf(out, " %#" PRIxPTR, pc);
  out->push_back('\n');
  for (uintptr_t pc : stk) {
    for (const auto& f : internal::framesOf(pc)) {
      appendf(out, "#\t%#" PRIxPTR "\t%s+%#" PRIxPTR "\t%s:%d\n", f.pc, f.function.c_str(),
              f.entry ? f.pc - f.entry : uintptr_t(0), f.file.c_str(), f.line);
    }
  }
  out->push_back('\n');
}

std::string labelsText(const Labels& l) {
  std::string s = "{";
  for (size_t i = 0; i < l.size(); i++) {
    if (i) s += ", ";
    s += "\"" + l[i].first + "\":\"" + l[i].second + "\"";
  }
  return s + "}";
}

// ---- count profiles (goroutine, threadcreate, custom) ----

struct CountRecord {
  Stack stack;
  Labels labels;
};

std::pair<std::string, error> writeCount(const std::string& name, std::vector<CountRecord> recs, int debug) {
  // Equal stacks (and labels) are one sample with a count.
  std::map<std::pair<Stack, Labels>, int64_t> grouped;
  for (auto& r : recs) grouped[{std::move(r.stack), std::move(r.labels)}]++;
  if (debug > 0) {
    std::vector<std::pair<const std::pair<Stack, Labels>*, int64_t>> order;
    for (const auto& [k, n] : grouped) order.push_back({&k, n});
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string out;
    appendf(&out, "%s profile: total %zu\n", name.c_str(), recs.size());
    for (const auto& [k, n] : order) {
      appendf(&out, "%" PRId64 " @", n);
      std::string stk;
      appendStack(&stk, k->first);
      size_t nl = stk.find('\n');
      out += stk.substr(0, nl + 1);
      if (!k->second.empty()) out += "# labels: " + labelsText(k->second) + "\n";
      out += stk.substr(nl + 1);
    }
    return {out, {}};
  }
  ProfileData p;
  p.sampleTypes = {{name, "count"}};
  p.periodType = {name, "count"};
  p.period = 1;
  p.timeNanos = wallNanos();
  for (const auto& [k, n] : grouped) p.samples.push_back(Sample{k.first, {n}, k.second, {}});
  return internal::encodeProfile(p);
}

std::vector<CountRecord> goroutineRecords() {
  using namespace gort::internal;
  std::vector<CountRecord> recs;
  g* me = getg();
  bool onG = me && me->mp && me->mp->curg == me;
  std::vector<uintptr_t> pcs(kMaxTracePCs);
  if (onG) {
    int n = callersPCs(1, pcs.data(), kMaxTracePCs);
    recs.push_back({Stack(pcs.begin(), pcs.begin() + n), labelsCopy(me->labels)});
  }
  if (onG) stopTheWorld("profile");
  for (g* gp = allgsHead(); gp; gp = gp->alllink) {
    uint32_t st = gp->atomicstatus.load(std::memory_order_relaxed);
    if (gp == me || gp->goid == 0 || st == Gdead || st == Gidle) continue;
    Stack stk;
    if (onG && (st == Gwaiting || st == Grunnable)) {
      int n = parkedPCs(gp, pcs.data());
      stk.assign(pcs.begin(), pcs.begin() + n);
    }
    // Running elsewhere, in a system call, or not started: where it was created.
    if (stk.empty() && gp->gopc) stk.push_back(gp->gopc);
    recs.push_back({std::move(stk), labelsCopyOf(gp)});
  }
  if (onG) startTheWorld();
  return recs;
}

std::string goroutineDump() {
  std::vector<char> buf(1 << 16);
  for (;;) {
    int n = runtime::Stack(buf, true);
    if (size_t(n) < buf.size()) return std::string(buf.data(), size_t(n));
    buf.resize(buf.size() * 2);
  }
}

// ---- heap ----

// Go's scaleHeapSample: a record of `count` samples and `size` bytes stands
// for count/(1-exp(-avg/rate)) allocations.
std::pair<int64_t, int64_t> scaleHeap(int64_t count, int64_t size, int64_t rate) {
  if (count == 0 || size == 0) return {0, 0};
  if (rate <= 1) return {count, size};
  double avg = double(size) / double(count);
  double scale = 1 / (1 - std::exp(-avg / double(rate)));
  return {int64_t(double(count) * scale), int64_t(double(size) * scale)};
}

std::pair<std::string, error> writeHeap(bool allocs, int debug) {
  std::vector<runtime::MemProfileRecord> recs = runtime::MemProfile(true);
  int64_t rate = runtime::MemProfileRate;
  std::sort(recs.begin(), recs.end(), [](const auto& a, const auto& b) { return a.InUseBytes() > b.InUseBytes(); });
  if (debug > 0) {
    int64_t tin = 0, tinB = 0, tal = 0, talB = 0;
    for (const auto& r : recs) {
      tin += r.InUseObjects();
      tinB += r.InUseBytes();
      tal += r.AllocObjects;
      talB += r.AllocBytes;
    }
    std::string out;
    appendf(&out, "heap profile: %" PRId64 ": %" PRId64 " [%" PRId64 ": %" PRId64 "] @ heap/%" PRId64 "\n", tin, tinB,
            tal, talB, 2 * rate);
    for (const auto& r : recs) {
      appendf(&out, "%" PRId64 ": %" PRId64 " [%" PRId64 ": %" PRId64 "] @", r.InUseObjects(), r.InUseBytes(),
              r.AllocObjects, r.AllocBytes);
      appendStack(&out, r.Stack);
    }
    runtime::MemStats s;
    runtime::ReadMemStats(&s);
    appendf(&out, "\n# runtime.MemStats\n# Alloc = %" PRIu64 "\n# TotalAlloc = %" PRIu64 "\n# Sys = %" PRIu64
            "\n# Mallocs = %" PRIu64 "\n# Frees = %" PRIu64 "\n# HeapAlloc = %" PRIu64 "\n# HeapSys = %" PRIu64
            "\n# HeapIdle = %" PRIu64 "\n# HeapInuse = %" PRIu64 "\n# HeapReleased = %" PRIu64
            "\n# HeapObjects = %" PRIu64 "\n# Stack = %" PRIu64 " / %" PRIu64 "\n# NumGC = %u\n",
            s.Alloc, s.TotalAlloc, s.Sys, s.Mallocs, s.Frees, s.HeapAlloc, s.HeapSys, s.HeapIdle, s.HeapInuse,
            s.HeapReleased, s.HeapObjects, s.StackInuse, s.StackSys, unsigned(s.NumGC));
    return {out, {}};
  }
  ProfileData p;
  p.sampleTypes = {{"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}};
  p.periodType = {"space", "bytes"};
  p.period = rate;
  p.timeNanos = wallNanos();
  if (allocs) p.defaultSampleType = "alloc_space";
  for (const auto& r : recs) {
    auto [ao, ab] = scaleHeap(r.AllocObjects, r.AllocBytes, rate);
    auto [io, ib] = scaleHeap(r.InUseObjects(), r.InUseBytes(), rate);
    Sample s{r.Stack, {ao, ab, io, ib}, {}, {}};
    if (r.AllocObjects > 0) s.numLabels.push_back({"bytes", r.AllocBytes / r.AllocObjects});
    p.samples.push_back(std::move(s));
  }
  return internal::encodeProfile(p);
}

// ---- block, mutex ----

std::pair<std::string, error> writeEvents(bool mutexProfile, int debug) {
  std::vector<runtime::BlockProfileRecord> recs = mutexProfile ? runtime::MutexProfile() : runtime::BlockProfile();
  std::sort(recs.begin(), recs.end(), [](const auto& a, const auto& b) { return a.Cycles > b.Cycles; });
  int64_t period = mutexProfile ? runtime::SetMutexProfileFraction(-1) : 1;
  if (period < 1) period = 1;
  if (debug > 0) {
    std::string out = mutexProfile ? "--- mutex:\n" : "--- contention:\n";
    out += "cycles/second=1000000000\n";
    if (mutexProfile) appendf(&out, "sampling period=%" PRId64 "\n", period);
    for (const auto& r : recs) {
      appendf(&out, "%" PRId64 " %" PRId64 " @", r.Cycles, r.Count);
      appendStack(&out, r.Stack);
    }
    return {out, {}};
  }
  ProfileData p;
  p.sampleTypes = {{"contentions", "count"}, {"delay", "nanoseconds"}};
  p.periodType = {"contentions", "count"};
  p.period = period;
  p.timeNanos = wallNanos();
  for (const auto& r : recs) p.samples.push_back(Sample{r.Stack, {r.Count * period, r.Cycles * period}, {}, {}});
  return internal::encodeProfile(p);
}

// ---- the registry ----

enum Kind { kCustom, kGoroutine, kThreadcreate, kHeap, kAllocs, kBlock, kMutex };

struct Custom {
  std::mutex mu;
  std::unordered_map<const void*, Stack> entries;
};

struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<Profile>, std::less<>> profiles;
  std::unordered_map<const Profile*, std::unique_ptr<Custom>> custom;
  Registry() {
    for (auto [name, kind] : {std::pair{"goroutine", kGoroutine}, {"threadcreate", kThreadcreate}, {"heap", kHeap},
                              {"allocs", kAllocs}, {"block", kBlock}, {"mutex", kMutex}}) {
      profiles.emplace(name, std::make_unique<Profile>(name, kind));
    }
  }
};

Registry& registry() {
  static auto* r = new Registry;
  return *r;
}

Custom* customOf(const Profile* p) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  auto it = r.custom.find(p);
  return it == r.custom.end() ? nullptr : it->second.get();
}

}  // namespace

// ---- CPU profile API ----

error detail::startCPUProfile(WriteFn write, void* w) {
  CPUState& c = cpu();
  std::lock_guard<std::mutex> lk(c.mu);
  if (c.on) return errors::New("cpu profiling already in use");
  // A rate the program set first wins (Go's documented way to change it).
  int hz = gort::internal::cpuprofHz.load(std::memory_order_relaxed);
  if (hz == 0) {
    hz = 100;
    runtime::SetCPUProfileRate(hz);
  }
  c.on = true;
  c.write = write;
  c.w = w;
  c.hz = hz;
  c.start = wallNanos();
  c.startMono = gort::internal::nanotime();
  c.stop = false;
  c.lost = 0;
  c.reader = std::thread([&c] { c.readLoop(); });
  return {};
}

void StopCPUProfile() {
  CPUState& c = cpu();
  std::lock_guard<std::mutex> lk(c.mu);
  if (!c.on) return;
  runtime::SetCPUProfileRate(0);
  {
    std::lock_guard<std::mutex> s(c.stopMu);
    c.stop = true;
  }
  c.stopCv.notify_all();
  syscall::Blocking([&c] { c.reader.join(); });
  c.drain();
  ProfileData p;
  p.sampleTypes = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  p.periodType = {"cpu", "nanoseconds"};
  p.period = 1000000000 / c.hz;
  p.timeNanos = c.start;
  p.durationNanos = gort::internal::nanotime() - c.startMono;
  for (auto& [k, n] : c.counts) p.samples.push_back(Sample{k.stack, {n, n * p.period}, labelsCopy(k.labels), {}});
  if (c.lost > 0) {
    // Go's "runtime._LostExternalCode"-style record: a sample with no stack
    // would be dropped by pprof, so it gets a label saying what it is.
    p.samples.push_back(Sample{{}, {int64_t(c.lost), int64_t(c.lost) * p.period}, {{"lost", "profile buffer full"}}, {}});
  }
  for (auto& [k, n] : c.counts) gort::internal::labelsRelease(k.labels);
  c.counts.clear();
  c.on = false;
  auto [data, err] = internal::encodeProfile(p);
  if (!err) c.write(c.w, data.data(), data.size());
}

// ---- profiles ----

int Profile::Count() const {
  switch (kind_) {
    case kGoroutine: return runtime::NumGoroutine();
    case kThreadcreate: return int(runtime::ThreadCreateProfile().size());
    case kHeap:
    case kAllocs: return int(runtime::MemProfile(true).size());
    case kBlock: return int(runtime::BlockProfile().size());
    case kMutex: return int(runtime::MutexProfile().size());
  }
  Custom* c = customOf(this);
  std::lock_guard<std::mutex> lk(c->mu);
  return int(c->entries.size());
}

void Profile::Add(const void* value, int skip) {
  Custom* c = customOf(this);
  if (!c) panic(std::string("pprof: Add called on built-in Profile " + name_));
  uintptr_t pcs[32];
  int n = gort::internal::callersPCs(skip + 1, pcs, 32);
  std::lock_guard<std::mutex> lk(c->mu);
  if (!c->entries.emplace(value, Stack(pcs, pcs + n)).second) {
    panic(std::string("pprof: Profile.Add of duplicate value"));
  }
}

void Profile::Remove(const void* value) {
  if (Custom* c = customOf(this)) {
    std::lock_guard<std::mutex> lk(c->mu);
    c->entries.erase(value);
  }
}

std::pair<std::string, error> Profile::write(int debug) const {
  if (debug < 0) return {{}, errors::New("pprof: negative debug level")};
  switch (kind_) {
    case kGoroutine:
      if (debug >= 2) return {goroutineDump(), {}};
      return writeCount(name_, goroutineRecords(), debug);
    case kThreadcreate: {
      std::vector<CountRecord> recs;
      for (auto& r : runtime::ThreadCreateProfile()) recs.push_back({std::move(r.Stack), {}});
      return writeCount(name_, std::move(recs), debug);
    }
    case kHeap: return writeHeap(false, debug);
    case kAllocs: return writeHeap(true, debug);
    case kBlock: return writeEvents(false, debug);
    case kMutex: return writeEvents(true, debug);
  }
  Custom* c = customOf(this);
  std::vector<CountRecord> recs;
  {
    std::lock_guard<std::mutex> lk(c->mu);
    for (const auto& [v, stk] : c->entries) recs.push_back({stk, {}});
  }
  return writeCount(name_, std::move(recs), debug);
}

Profile* Lookup(std::string_view name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  auto it = r.profiles.find(name);
  return it == r.profiles.end() ? nullptr : it->second.get();
}

Profile* NewProfile(std::string name) {
  if (name.empty()) panic(std::string("pprof: NewProfile with empty name"));
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  if (r.profiles.count(name)) panic(std::string("pprof: NewProfile name already in use: " + name));
  auto p = std::make_unique<Profile>(name, kCustom);
  Profile* raw = p.get();
  r.custom[raw] = std::make_unique<Custom>();
  r.profiles.emplace(std::move(name), std::move(p));
  return raw;
}

std::vector<Profile*> Profiles() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  std::vector<Profile*> out;
  for (auto& [n, p] : r.profiles) out.push_back(p.get());
  return out;
}

// ---- profiles on a signal ----

void WriteProfilesOnSignal(int sig, std::string dir) {
  auto c = make_chan<os::Signal>(1);
  signal::Notify(c, {os::Signal(sig)});
  go([c, dir = std::move(dir)] {
    for (;;) {
      auto [s, ok] = c.recv2();
      if (!ok) return;
      // Each profile is written beside its name and renamed into place
      // once complete, so a reader never sees half a profile.
      for (const char* name : {"goroutine", "heap", "allocs", "block", "mutex", "threadcreate"}) {
        std::string path = dir + "/" + name + ".pb.gz", partial = path + ".partial";
        auto [f, err] = os::Create(partial);
        if (err) {
          std::fprintf(stderr, "pprof: %s\n", err.Error().c_str());
          continue;
        }
        error werr = Lookup(name)->WriteTo(f, 0);
        f.Close();
        if (werr) {
          std::fprintf(stderr, "pprof: %s: %s\n", partial.c_str(), werr.Error().c_str());
        } else if (std::rename(partial.c_str(), path.c_str()) != 0) {
          std::fprintf(stderr, "pprof: rename %s: %s\n", partial.c_str(), std::strerror(errno));
        }
      }
    }
  });
}

}  // namespace gort::pprof
