// runtime/pprof and runtime/metrics, read back by Go 1.19's own tools:
// `go tool pprof` must open every profile gort writes, without the binary,
// and find the functions and values the workloads imply; the metric set
// must be Go 1.19's (its description.go, from golang-1.19-src).
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "gort/chan.hpp"
#include "gort/context.hpp"
#include "gort/debug_gcstats.hpp"
#include "gort/go.hpp"
#include "gort/metrics.hpp"
#include "gort/new.hpp"
#include "gort/panic.hpp"
#include "gort/pprof.hpp"
#include "gort/runtime.hpp"
#include "gort/sync.hpp"
#include "gort/time.hpp"
#include "runtime/pprof/proto.hpp"
#include "runtime/pprof/protobuf.hpp"

#include "support/command.hpp"

namespace {

using namespace gort;
constexpr const char* kGo = "/usr/lib/go-1.19/bin/go";
constexpr const char* kGoSrc = "/usr/lib/go-1.19/src/runtime/metrics/description.go";

#if defined(GORT_ASAN) || defined(GORT_TSAN)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#if defined(GORT_TSAN)
constexpr bool kTSan = true;
#else
constexpr bool kTSan = false;
#endif

struct StringWriter {
  std::string data;
  void Write(const void* p, size_t n) { data.append(static_cast<const char*>(p), n); }
};

using gorttest::runCommand;

std::string save(const std::string& name, const std::string& data) {
  std::string path = ::testing::TempDir() + "gort_pprof_" + name;
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

// `go tool pprof ARGS FILE`, which must succeed.
std::string pprofTool(const std::string& args, const std::string& file) {
  int status = 0;
  // No binary, no network: the profile's own symbols must do.
  std::string out = runCommand("PPROF_BINARY_PATH=/nonexistent " + std::string(kGo) + " tool pprof " + args + " " + file +
                            " 2>&1",
                        &status);
  EXPECT_EQ(status, 0) << out.substr(0, 4000);
  return out;
}

#define REQUIRE_GO() \
  if (access(kGo, X_OK) != 0) GTEST_SKIP() << kGo << " not installed (apt-get install golang-1.19-go)"

std::string profileOf(const char* name, int debug) {
  StringWriter w;
  error err = pprof::Lookup(name)->WriteTo(w, debug);
  EXPECT_FALSE(err) << err.Error();
  return w.data;
}

// ---- CPU ----

volatile uint64_t sink;

[[gnu::noinline]] uint64_t spin(uint64_t iters) {
  uint64_t x = 88172645463325252ull;
  for (uint64_t i = 0; i < iters; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}
[[gnu::noinline]] void burnTwo(uint64_t iters) {
  sink = spin(2 * iters);
  asm volatile("");
}
[[gnu::noinline]] void burnOne(uint64_t iters) {
  sink = spin(iters);
  asm volatile("");
}

double processCPUSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

// Flat-or-cumulative share (percent) of the line naming fn in `-top` output.
double cumShare(const std::string& top, const std::string& fn) {
  std::istringstream in(top);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(fn) == std::string::npos) continue;
    // "flat flat% sum% cum cum% name": cum% is the fifth field.
    std::istringstream f(line);
    std::string flat, flatPct, sum, cum, cumPct;
    f >> flat >> flatPct >> sum >> cum >> cumPct;
    return std::atof(cumPct.c_str());
  }
  return -1;
}

TEST(PprofCPU, TopShowsBothFunctionsInProportion) {
  REQUIRE_GO();
  StringWriter w;
  gort::Run([&] {
    ASSERT_FALSE(pprof::StartCPUProfile(w));
    StringWriter other;
    EXPECT_EQ(pprof::StartCPUProfile(other).Error(), "cpu profiling already in use");
    // 2 s of CPU (~200 samples: a standard error of 3 points on the
    // share), counted in CPU time so that a busy machine only stretches
    // the wall time, in 2:1 slices interleaved so that any drift in the
    // machine's speed hits both alike. A slice is tens of milliseconds, well
    // above the scheduler tick at which the kernel checks CPU timers: with
    // slices near the tick, samples alias onto the slices' boundaries.
    pprof::Do(context::Background(), pprof::Labels({"worker", "burner"}), [&](const context::Context&) {
      const double start = processCPUSeconds();
      while (processCPUSeconds() < start + 2.0) {
        burnTwo(10000000);
        burnOne(10000000);
      }
    });
    pprof::StopCPUProfile();
  });
  std::string path = save("cpu.pb.gz", w.data);
  std::string top = pprofTool("-top -cum -nodecount=200", path);
  EXPECT_NE(top.find("Type: cpu"), std::string::npos) << top;
  EXPECT_TRUE(std::regex_search(top, std::regex("Total samples = [1-9]"))) << top;
  if (kTSan) {
    // TSan holds asynchronous signals back until the thread next enters an
    // interceptor (here clock_gettime), so SIGPROF's context is not where
    // the CPU time went.
    GTEST_SKIP() << "stacks not checked under TSan (it defers SIGPROF to its interceptors)";
  }
  double two = cumShare(top, "burnTwo"), one = cumShare(top, "burnOne");
  ASSERT_GT(two, 0) << top;
  ASSERT_GT(one, 0) << top;
  double twoShare = 100 * two / (two + one);
  EXPECT_NEAR(twoShare, 66.7, 10) << top;
  // Every sample of the burners carries the goroutine's label.
  std::string tags = pprofTool("-tags", path);
  EXPECT_NE(tags.find("worker"), std::string::npos) << tags;
  EXPECT_NE(tags.find("burner"), std::string::npos) << tags;
}

TEST(PprofCPU, StopWithoutStartDoesNothing) {
  gort::Run([] { pprof::StopCPUProfile(); });
}

// A skynet-shaped workload: a tree of goroutines reporting sums up
// channels. Its profile must name gort's scheduler and channel code.
[[gnu::noinline]] void skynet(chan<int64_t> c, int64_t num, int size) {
  if (size == 1) {
    c.send(num);
    return;
  }
  auto rc = make_chan<int64_t>(10);
  for (int i = 0; i < 10; i++) go(skynet, rc, num + i * (size / 10), size / 10);
  int64_t sum = 0;
  for (int i = 0; i < 10; i++) sum += rc.recv();
  c.send(sum);
}

TEST(PprofCPU, SkynetProfileNamesSchedulerAndChannels) {
  REQUIRE_GO();
  StringWriter w;
  gort::Run([&] {
    ASSERT_FALSE(pprof::StartCPUProfile(w));
    // Rounds for a second at least, so that the profile has ~100 samples
    // per busy thread however slow the build.
    auto deadline = time::Now().Add(time::Second);
    do {
      auto c = make_chan<int64_t>(1);
      go(skynet, c, 0, kSanitized ? 10000 : 100000);
      EXPECT_EQ(c.recv(), kSanitized ? 49995000 : 4999950000);
    } while (time::Now().Before(deadline));
    pprof::StopCPUProfile();
  });
  std::string top = pprofTool("-top -nodecount=400", save("skynet.pb.gz", w.data));
  EXPECT_TRUE(std::regex_search(top, std::regex("Total samples = [1-9]"))) << top;
  if (kTSan) GTEST_SKIP() << "stacks not checked under TSan (it defers SIGPROF to its interceptors)";
  EXPECT_NE(top.find("gort::internal::"), std::string::npos) << top;
  EXPECT_TRUE(std::regex_search(top, std::regex("chan(send|recv|Block|Send|Recv)|hchan"))) << top;
  EXPECT_TRUE(std::regex_search(top, std::regex("schedule|findRunnable|execute|gogo|newproc"))) << top;
}

// ---- goroutine, threadcreate ----

[[gnu::noinline]] void parkedInRecv(chan<int> c) {
  c.recv();
  asm volatile("");
}

TEST(PprofGoroutine, AllThreeFormats) {
  REQUIRE_GO();
  std::string proto, text, dump;
  gort::Run([&] {
    auto c = make_chan<int>();
    for (int i = 0; i < 3; i++) go(parkedInRecv, c);
    time::Sleep(20 * time::Millisecond);
    proto = profileOf("goroutine", 0);
    text = profileOf("goroutine", 1);
    dump = profileOf("goroutine", 2);
    EXPECT_GE(pprof::Lookup("goroutine")->Count(), 4);
    close(c);
  });
  std::string traces = pprofTool("-traces", save("goroutine.pb.gz", proto));
  EXPECT_NE(traces.find("parkedInRecv"), std::string::npos) << traces;
  EXPECT_NE(traces.find("Type: goroutine"), std::string::npos) << traces;
  EXPECT_TRUE(std::regex_search(text, std::regex("goroutine profile: total [0-9]+\n"))) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("\n3 @ 0x[0-9a-f]+"))) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("#\t0x[0-9a-f]+\t[^\n]*parkedInRecv[^\n]*\\+0x[0-9a-f]+\t[^\n]*pprof_test.cpp:[0-9]+\n")))
      << text;
  EXPECT_TRUE(std::regex_search(dump, std::regex("goroutine [0-9]+ \\[chan receive\\]:\n"))) << dump;
  EXPECT_NE(dump.find("parkedInRecv"), std::string::npos) << dump;
}

TEST(PprofGoroutine, LabelsAreInheritedAndRecorded) {
  REQUIRE_GO();
  std::string proto;
  gort::Run([&] {
    auto c = make_chan<int>();
    pprof::Do(context::Background(), pprof::Labels({"request", "42"}), [&](const context::Context& ctx) {
      EXPECT_EQ(pprof::Label(ctx, "request"), std::make_pair(std::string("42"), true));
      go(parkedInRecv, c);  // inherits request=42
    });
    time::Sleep(20 * time::Millisecond);
    proto = profileOf("goroutine", 0);
    close(c);
  });
  std::string tags = pprofTool("-tags", save("goroutine_labels.pb.gz", proto));
  EXPECT_NE(tags.find("request"), std::string::npos) << tags;
  EXPECT_NE(tags.find("42"), std::string::npos) << tags;
}

TEST(PprofThreadcreate, Parses) {
  REQUIRE_GO();
  std::string proto;
  gort::Run([&] { proto = profileOf("threadcreate", 0); });
  std::string top = pprofTool("-top", save("threadcreate.pb.gz", proto));
  EXPECT_NE(top.find("Type: threadcreate"), std::string::npos) << top;
  EXPECT_GE(pprof::Lookup("threadcreate")->Count(), 1);
}

// ---- mutex, block ----

[[gnu::noinline]] void holdAndUnlock(sync::Mutex* mu) {
  time::Sleep(10 * time::Millisecond);
  mu->Unlock();
  asm volatile("");
}
[[gnu::noinline]] void waitForLock(sync::Mutex* mu, sync::WaitGroup* wg) {
  mu->Lock();
  mu->Unlock();
  wg->Done();
}

TEST(PprofMutex, UnlockerStackIsRecorded) {
  REQUIRE_GO();
  std::string proto, text;
  gort::Run([&] {
    int old = runtime::SetMutexProfileFraction(1);
    sync::Mutex mu;
    sync::WaitGroup wg;
    for (int round = 0; round < 5; round++) {
      mu.Lock();
      wg.Add(1);
      go(waitForLock, &mu, &wg);
      time::Sleep(2 * time::Millisecond);  // the waiter queues on the semaphore
      holdAndUnlock(&mu);
      wg.Wait();
    }
    runtime::SetMutexProfileFraction(old);
    proto = profileOf("mutex", 0);
    text = profileOf("mutex", 1);
  });
  std::string traces = pprofTool("-traces", save("mutex.pb.gz", proto));
  EXPECT_NE(traces.find("holdAndUnlock"), std::string::npos) << traces;
  EXPECT_NE(traces.find("Unlock"), std::string::npos) << traces;
  EXPECT_NE(text.find("--- mutex:\ncycles/second=1000000000\nsampling period=1\n"), std::string::npos) << text;
}

[[gnu::noinline]] void blockOnRecv(chan<int> c, sync::WaitGroup* wg) {
  c.recv();
  wg->Done();
}

TEST(PprofBlock, ChannelWaitIsRecorded) {
  REQUIRE_GO();
  std::string proto, text;
  gort::Run([&] {
    runtime::SetBlockProfileRate(1);
    auto c = make_chan<int>();
    sync::WaitGroup wg;
    wg.Add(1);
    go(blockOnRecv, c, &wg);
    // Wait until it is parked in the receive (a loaded machine may start it
    // late), then keep it there 20 ms.
    auto parked = [] {
      std::string dump = profileOf("goroutine", 2);  // one goroutine per paragraph
      size_t at = dump.find("blockOnRecv");
      if (at == std::string::npos) return false;
      size_t start = dump.rfind("\n\n", at);
      start = start == std::string::npos ? 0 : start + 2;
      std::string header = dump.substr(start, dump.find('\n', start) - start);  // "goroutine N [state]:"
      return header.find("[chan receive]") != std::string::npos;
    };
    for (int i = 0; i < 2000 && !parked(); i++) time::Sleep(time::Millisecond);
    time::Sleep(20 * time::Millisecond);
    c.send(1);
    wg.Wait();
    runtime::SetBlockProfileRate(0);
    proto = profileOf("block", 0);
    text = profileOf("block", 1);
  });
  std::string traces = pprofTool("-traces", save("block.pb.gz", proto));
  EXPECT_NE(traces.find("blockOnRecv"), std::string::npos) << traces;
  EXPECT_NE(text.find("--- contention:\ncycles/second=1000000000\n"), std::string::npos) << text;
  // The wait took 20 ms: the record holds at least that much.
  bool found = false;
  for (const auto& r : runtime::BlockProfile()) {
    if (r.Cycles >= 15000000) found = true;
  }
  EXPECT_TRUE(found);
}

// ---- heap ----

constexpr int kObjects = 20000;
constexpr size_t kObjectSize = 1024;  // a size class: no rounding

[[gnu::noinline]] void allocKnown(std::vector<Ptr<std::array<char, kObjectSize>>>* keep) {
  for (int i = 0; i < kObjects; i++) keep->push_back(New<std::array<char, kObjectSize>>());
}

TEST(PprofHeap, InuseSpaceMatchesTheAllocations) {
  REQUIRE_GO();
  std::string proto, text;
  int old = runtime::MemProfileRate;
  runtime::MemProfileRate = 16 * 1024;  // ~1300 samples of 20 MiB: a few percent of noise
  gort::Run([&] {
    // keep's buffer is not the collector's memory: no cycle while it holds them.
    int gcPercent = debug::SetGCPercent(-1);
    std::vector<Ptr<std::array<char, kObjectSize>>> keep;
    keep.reserve(kObjects);
    allocKnown(&keep);
    StringWriter w;
    EXPECT_FALSE(pprof::WriteHeapProfile(w));
    proto = w.data;
    text = profileOf("heap", 1);
    debug::SetGCPercent(gcPercent);
  });
  runtime::MemProfileRate = old;
  std::string top = pprofTool("-top -sample_index=inuse_space -unit=B -nodecount=200", save("heap.pb.gz", proto));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(top, m, std::regex("\n *[0-9.]+B? +[0-9.]+% +[0-9.]+% +([0-9.]+)B +[0-9.]+% +[^\n]*allocKnown")))
      << top;
  double bytes = std::atof(m[1].str().c_str());
  double truth = double(kObjects) * kObjectSize;
  EXPECT_NEAR(bytes, truth, 0.2 * truth) << top;
  EXPECT_TRUE(std::regex_search(text, std::regex("^heap profile: [0-9]+: [0-9]+ \\[[0-9]+: [0-9]+\\] @ heap/32768\n")))
      << text.substr(0, 2000);
  EXPECT_NE(text.find("# runtime.MemStats"), std::string::npos);
  // allocs: the same records, alloc_space by default.
  std::string allocs;
  gort::Run([&] { allocs = profileOf("allocs", 0); });
  std::string atop = pprofTool("-top", save("allocs.pb.gz", allocs));
  EXPECT_NE(atop.find("alloc_space"), std::string::npos) << atop;
}

[[gnu::noinline]] void allocDropped() {
  for (int i = 0; i < kObjects; i++) {
    auto p = New<std::array<char, kObjectSize>>();
    asm volatile("" : : "r"(p.get()) : "memory");
  }
}

TEST(PprofHeap, FreedObjectsLeaveInuse) {
  int old = runtime::MemProfileRate;
  runtime::MemProfileRate = 16 * 1024;
  int64_t alloc = 0, inuse = 0;
  gort::Run([&] {
    allocDropped();
    runtime::GC();
    runtime::GC();  // the first cycle's sweep may still be running
    for (const auto& r : runtime::MemProfile(true)) {
      for (uintptr_t pc : r.Stack) {
        for (const auto& f : pprof::internal::framesOf(pc)) {
          if (f.function.find("allocDropped") != std::string::npos) {
            alloc += r.AllocBytes;
            inuse += r.InUseBytes();
          }
        }
      }
    }
  });
  runtime::MemProfileRate = old;
  ASSERT_GT(alloc, 0);
  // Nothing holds them: all but what a conservative stack scan keeps are freed.
  EXPECT_LT(inuse, alloc / 5) << "alloc " << alloc << " inuse " << inuse;
}

// ---- profiles of a running process, on a signal ----

TEST(PprofSignal, WritesProfilesOnSignal) {
  REQUIRE_GO();
  std::string dir = ::testing::TempDir() + "gort_pprof_sig";
  std::string goroutine = dir + "/goroutine.pb.gz", threads = dir + "/threadcreate.pb.gz";
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  gort::Run([&] {
    pprof::WriteProfilesOnSignal(SIGUSR2, dir);
    kill(getpid(), SIGUSR2);
    // The writer goroutine has no way to say it is done but the files.
    for (int i = 0; i < 500 && access(threads.c_str(), R_OK) != 0; i++) time::Sleep(10 * time::Millisecond);
    time::Sleep(50 * time::Millisecond);  // threadcreate is written last; let it be closed
  });
  for (const char* name : {"goroutine", "heap", "allocs", "block", "mutex", "threadcreate"}) {
    std::string path = dir + "/" + name + ".pb.gz";
    ASSERT_EQ(access(path.c_str(), R_OK), 0) << path;
    std::string top = pprofTool("-top", path);
    EXPECT_NE(top.find("Type:"), std::string::npos) << name << ": " << top;
  }
}

// ---- custom profiles, the registry ----

TEST(PprofProfiles, CustomProfile) {
  gort::Run([] {
    pprof::Profile* p = pprof::NewProfile("gort.test/handles");
    int a = 0, b = 0;
    p->Add(&a);
    p->Add(&b);
    EXPECT_EQ(p->Count(), 2);
    p->Remove(&b);
    EXPECT_EQ(p->Count(), 1);
    auto [text, err] = p->write(1);
    EXPECT_FALSE(err);
    EXPECT_NE(text.find("gort.test/handles profile: total 1\n"), std::string::npos) << text;
    EXPECT_EQ(pprof::Lookup("gort.test/handles"), p);
    EXPECT_THROW(pprof::NewProfile("gort.test/handles"), PanicException);
    EXPECT_THROW(p->Add(&a), PanicException);
    EXPECT_THROW(pprof::Lookup("heap")->Add(&a), PanicException);
    EXPECT_EQ(pprof::Lookup("no such profile"), nullptr);
    std::vector<std::string> names;
    for (auto* q : pprof::Profiles()) names.push_back(q->Name());
    for (const char* want : {"allocs", "block", "goroutine", "heap", "mutex", "threadcreate"}) {
      EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
    }
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
    EXPECT_TRUE(pprof::Lookup("heap")->write(-1).second);
  });
}

TEST(PprofLabels, MergeAndOddCount) {
  gort::Run([] {
    auto ctx = pprof::WithLabels(context::Background(), pprof::Labels({"a", "1", "b", "2"}));
    ctx = pprof::WithLabels(ctx, pprof::Labels({"b", "3"}));
    std::vector<std::string> seen;
    pprof::ForLabels(ctx, [&](std::string_view k, std::string_view v) {
      seen.push_back(std::string(k) + "=" + std::string(v));
      return true;
    });
    EXPECT_EQ(seen, (std::vector<std::string>{"a=1", "b=3"}));
    EXPECT_FALSE(pprof::Label(ctx, "c").second);
    EXPECT_THROW(pprof::Labels({"odd"}), PanicException);
  });
}

TEST(PprofProto, Varints) {
  pprof::internal::ProtoWriter w;
  w.uint64(1, 300);
  EXPECT_EQ(w.data(), std::string("\x08\xac\x02", 3));
  pprof::internal::ProtoWriter z;
  z.uint64(2, 0);  // zero scalars are omitted
  z.bytes(3, "");
  EXPECT_EQ(z.data(), std::string("\x1a\x00", 2));
}

// ---- metrics ----

TEST(PprofMetrics, NamesAndKindsAreGo119s) {
  std::ifstream in(kGoSrc);
  if (!in) GTEST_SKIP() << kGoSrc << " not installed (apt-get install golang-1.19-src)";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string src = ss.str();
  // name -> "Kind... cumulative?", from each {Name: ..., Kind: ..., Cumulative: ...} entry.
  std::map<std::string, std::string> want;
  std::regex entry("Name: +\"([^\"]+)\"[^}]*?Kind: +(Kind[A-Za-z0-9]+),([^}]*)\\}");
  for (auto it = std::sregex_iterator(src.begin(), src.end(), entry); it != std::sregex_iterator(); ++it) {
    bool cumulative = std::regex_search((*it)[3].str(), std::regex("Cumulative: +true"));
    want[(*it)[1]] = (*it)[2].str() + (cumulative ? " cumulative" : "");
  }
  ASSERT_GE(want.size(), 30u);
  std::map<std::string, std::string> got;
  const char* kinds[] = {"KindBad", "KindUint64", "KindFloat64", "KindFloat64Histogram"};
  for (const auto& d : metrics::All()) got[d.Name] = std::string(kinds[d.Kind]) + (d.Cumulative ? " cumulative" : "");
  EXPECT_EQ(got, want);
  // Sorted by name, as Go's All is (and Read's lookup needs).
  EXPECT_TRUE(std::is_sorted(metrics::All().begin(), metrics::All().end(),
                             [](const auto& a, const auto& b) { return a.Name < b.Name; }));
}

TEST(PprofMetrics, CollectorCyclesAndPauses) {
  gort::Run([] {
    runtime::GC();
    std::vector<metrics::Sample> s = {{"/gc/cycles/total:gc-cycles", {}},
                                      {"/gc/cycles/forced:gc-cycles", {}},
                                      {"/gc/pauses:seconds", {}}};
    metrics::Read(s);
    runtime::MemStats ms;
    runtime::ReadMemStats(&ms);
    EXPECT_GE(s[0].Value.Uint64(), 1u);
    EXPECT_LE(s[0].Value.Uint64(), ms.NumGC);
    EXPECT_GE(s[1].Value.Uint64(), 1u);
    uint64_t pauses = 0;
    for (uint64_t c : s[2].Value.Float64Histogram().Counts) pauses += c;
    EXPECT_EQ(pauses, std::min<uint64_t>(s[0].Value.Uint64(), 256));
    debug::GCStats st;
    debug::ReadGCStats(&st);
    EXPECT_GE(st.NumGC, 1);
    EXPECT_FALSE(st.Pause.empty());
  });
}

TEST(PprofMetrics, ReadReportsTheRuntimesCounters) {
  gort::Run([] {
    std::vector<metrics::Sample> s;
    for (const auto& d : metrics::All()) s.push_back({d.Name, {}});
    s.push_back({"/no/such:metric", {}});
    metrics::Read(s);
    std::map<std::string, const metrics::Value*> v;
    for (const auto& x : s) v[x.Name] = &x.Value;
    for (const auto& d : metrics::All()) EXPECT_EQ(v[d.Name]->Kind(), d.Kind) << d.Name;
    EXPECT_EQ(v["/no/such:metric"]->Kind(), metrics::KindBad);
    EXPECT_GE(v["/sched/goroutines:goroutines"]->Uint64(), 1u);
    EXPECT_EQ(v["/sched/gomaxprocs:threads"]->Uint64(), uint64_t(runtime::GOMAXPROCS(0)));
    runtime::MemStats ms;
    runtime::ReadMemStats(&ms);
    EXPECT_EQ(v["/gc/cycles/total:gc-cycles"]->Uint64(), ms.NumGC);
    const auto& lat = v["/sched/latencies:seconds"]->Float64Histogram();
    EXPECT_EQ(lat.Buckets.size(), lat.Counts.size() + 1);
    EXPECT_EQ(lat.Buckets.size(), 45u * 16 + 2);
    EXPECT_TRUE(std::isinf(lat.Buckets.front()) && lat.Buckets.front() < 0);
    EXPECT_EQ(lat.Buckets[17], 16e-9);
    const auto& bySize = v["/gc/heap/allocs-by-size:bytes"]->Float64Histogram();
    EXPECT_EQ(bySize.Buckets.size(), bySize.Counts.size() + 1);
    uint64_t before = v["/gc/heap/allocs:bytes"]->Uint64();
    auto keep = New<std::array<char, 4096>>();
    metrics::Read(s);
    EXPECT_GE(s[0].Value.Kind(), metrics::KindUint64);
    for (const auto& x : s) {
      if (x.Name == "/gc/heap/allocs:bytes") EXPECT_GE(x.Value.Uint64(), before + 4096);
      if (x.Name == "/memory/classes/total:bytes") EXPECT_GT(x.Value.Uint64(), 0u);
    }
    EXPECT_THROW(v["/sched/goroutines:goroutines"]->Float64(), PanicException);
    (void)keep;
  });
  debug::GCStats st;
  st.PauseQuantiles.resize(5);
  debug::ReadGCStats(&st);
  runtime::MemStats ms;
  runtime::ReadMemStats(&ms);
  EXPECT_EQ(st.NumGC, int64_t(ms.NumGC));
  EXPECT_EQ(st.Pause.size(), std::min<size_t>(ms.NumGC, 256));
  EXPECT_EQ(st.PauseQuantiles.size(), 5u);
}

}  // namespace
