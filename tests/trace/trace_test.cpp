// Execution traces: a program using channels, select, timers, a mutex,
// network I/O and a system call is traced, and Go 1.19's `go tool trace`
// must parse the result (its parser checks every G and P state transition)
// with the events the program implies.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gort/chan.hpp"
#include "gort/context.hpp"
#include "gort/go.hpp"
#include "gort/net.hpp"
#include "gort/new.hpp"
#include "gort/runtime.hpp"
#include "gort/select.hpp"
#include "gort/sync.hpp"
#include "gort/syscall.hpp"
#include "gort/time.hpp"
#include "gort/trace.hpp"

#include "support/command.hpp"

namespace {

using namespace gort;
constexpr const char* kGo = "/usr/lib/go-1.19/bin/go";

struct FileWriter {
  FILE* f;
  void Write(const void* p, size_t n) { fwrite(p, 1, n, f); }
};

using gorttest::runCommand;

int startProcs = 0;  // GOMAXPROCS when the workload began
constexpr int kRecv = 5, kSend = 4, kSelect = 3, kSleep = 6;

// The workload: every goroutine it starts blocks in one known way.
void workload() {
  const auto settle = 50 * time::Millisecond;
  std::vector<chan<int>> recvs;
  sync::WaitGroup wg;
  for (int i = 0; i < kRecv; i++) {
    recvs.push_back(make_chan<int>());
    wg.Add(1);
    go([c = recvs.back(), &wg] { c.recv(); wg.Done(); });
  }
  auto sendc = make_chan<int>();
  for (int i = 0; i < kSend; i++) {
    wg.Add(1);
    go([sendc, &wg, i] { sendc.send(i); wg.Done(); });
  }
  auto a = make_chan<int>(), b = make_chan<int>();
  for (int i = 0; i < kSelect; i++) {
    wg.Add(1);
    go([a, b, &wg] {
      select(recv(a, [](int, bool) {}), recv(b, [](int, bool) {}));
      wg.Done();
    });
  }
  for (int i = 0; i < kSleep; i++) {
    wg.Add(1);
    go([&wg] { time::Sleep(time::Millisecond); wg.Done(); });
  }
  sync::Mutex mu;
  mu.Lock();
  wg.Add(1);
  go([&] { mu.Lock(); mu.Unlock(); wg.Done(); });
  wg.Add(1);
  go([&] {
    syscall::Blocking([] { usleep(60 * 1000); });
    wg.Done();
  });
  auto [ln, err] = net::Listen("tcp", "127.0.0.1:0");
  ASSERT_FALSE(err);
  wg.Add(1);
  go([ln = ln, &wg]() mutable {
    auto [c, aerr] = ln.Accept();
    char buf[8];
    c.Read(buf, sizeof buf);
    c.Close();
    wg.Done();
  });
  time::Sleep(settle);
  for (auto& c : recvs) c.send(1);
  for (int i = 0; i < kSend; i++) sendc.recv();
  gort::close(a);
  mu.Unlock();
  auto [conn, derr] = net::Dial("tcp", ln.Addr()->String());
  ASSERT_FALSE(derr);
  time::Sleep(settle);
  conn.Write("x", 1);
  wg.Wait();
  conn.Close();
  ln.Close();
  // Shrinking may take the caller's P away: it resumes on P 0.
  int procs = startProcs = runtime::GOMAXPROCS(1);
  runtime::GOMAXPROCS(procs + 1);
  runtime::GOMAXPROCS(procs);
  auto [ctx, task] = trace::NewTask(context::Background(), "job");
  trace::WithRegion(ctx, "step", [&] { trace::Log(ctx, "cat", "msg"); });
  task.End();
}

TEST(TraceTest, GoToolTraceParses) {
  if (access(kGo, X_OK) != 0) GTEST_SKIP() << kGo << " not installed";
  std::string path = ::testing::TempDir() + "gort_trace_test.out";
  int64_t me = 0;
  gort::Run([&] {
    FILE* f = fopen(path.c_str(), "w");
    FileWriter w{f};
    ASSERT_FALSE(trace::Start(w));
    EXPECT_TRUE(trace::IsEnabled());
    EXPECT_EQ(trace::Start(w).Error(), "tracing is already enabled");
    me = runtime::GoID();
    workload();
    trace::Stop();
    EXPECT_FALSE(trace::IsEnabled());
    fclose(f);
  });
  int status = 0;
  std::string out = runCommand(std::string(kGo) + " tool trace -d " + path + " 2>&1", &status);
  ASSERT_EQ(status, 0) << out.substr(0, 4000);
  // "<ts> GoCreate p=0 g=1 off=40 g=7 stack=3", parser.go's Event.String.
  std::set<uint64_t> mine;
  std::map<std::string, std::map<uint64_t, int>> byG;  // event name -> g -> count
  std::istringstream lines(out);
  std::string line;
  bool task = false, region = false, log = false;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string ts, name, pf, gf;
    fields >> ts >> name >> pf >> gf;
    if (gf.rfind("g=", 0) != 0) continue;
    uint64_t g = std::stoull(gf.substr(2));
    if (name == "GoCreate" && int64_t(g) == me) {
      std::string off, newg;
      fields >> off >> newg;
      mine.insert(std::stoull(newg.substr(2)));
    }
    if (name == "GoUnblock" || name == "GoSysExit") {
      std::string off, target;
      fields >> off >> target;
      g = std::stoull(target.substr(2));  // counted for the G it unblocks
    }
    byG[name][g]++;
    if (name == "UserTaskCreate" && line.find("name=job") != std::string::npos) task = true;
    if (name == "UserRegion" && line.find("name=step") != std::string::npos) region = true;
    if (name == "UserLog" && line.find("category=cat message=msg") != std::string::npos) log = true;
  }
  int goroutines = kRecv + kSend + kSelect + kSleep + 3;
  ASSERT_EQ(int(mine.size()), goroutines) << out.substr(0, 4000);
  auto count = [&](const std::string& name) {
    int n = 0;
    for (uint64_t g : mine) n += byG[name][g];
    return n;
  };
  EXPECT_EQ(count("GoEnd"), goroutines);
  EXPECT_EQ(count("GoBlockRecv"), kRecv);
  EXPECT_EQ(count("GoBlockSend"), kSend);
  EXPECT_EQ(count("GoBlockSelect"), kSelect);
  EXPECT_EQ(count("GoSleep"), kSleep);
  EXPECT_EQ(count("GoBlockSync"), 1);
  EXPECT_EQ(count("GoSysCall"), 1);
  EXPECT_EQ(count("GoSysBlock"), 1);
  EXPECT_EQ(count("GoSysExit"), 1);
  EXPECT_GE(count("GoBlockNet"), 2);  // accept, then read
  // Every block of theirs was undone by an unblock (syscalls by a sys exit).
  EXPECT_EQ(count("GoUnblock"), kRecv + kSend + kSelect + kSleep + 1 + count("GoBlockNet"));
  EXPECT_GE(byG["ProcStart"].size() + byG["ProcStart"][0], 1u);
  int gomaxprocs = 0;
  for (auto& [g, n] : byG["Gomaxprocs"]) gomaxprocs += n;
  // At the start, then each change (GOMAXPROCS(1) changes nothing at 1).
  EXPECT_EQ(gomaxprocs, startProcs == 1 ? 3 : 4);
  EXPECT_TRUE(task);
  EXPECT_TRUE(region);
  EXPECT_TRUE(log);

  // The web UI splits the trace into viewer pages at start-up, walking every
  // goroutine's running slices (a start without an end crashed it).
  std::string viewerLog = path + ".viewer.log";
  out = runCommand("(" + std::string(kGo) + " tool trace -http=127.0.0.1:0 " + path + " > " + viewerLog +
                " 2>&1 & pid=$!; for i in $(seq 300); do grep -q 'listening\\|panic' " + viewerLog +
                " && break; sleep 0.1; done; kill $pid; wait $pid; cat " + viewerLog + ")",
            &status);
  EXPECT_NE(out.find("Trace viewer is listening on http://127.0.0.1:"), std::string::npos) << out;
  EXPECT_EQ(out.find("panic"), std::string::npos) << out;

  // A scheduling-latency profile that pprof opens.
  std::string prof = path + ".sched.pb";
  out = runCommand(std::string(kGo) + " tool trace -pprof=sched " + path + " > " + prof + " 2>&1", &status);
  ASSERT_EQ(status, 0) << out;
  out = runCommand(std::string(kGo) + " tool pprof -top " + prof + " 2>&1", &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("flat"), std::string::npos) << out;
}

// The collector's cycles: each runtime::GC is a cycle (GCStart .. GCDone)
// inside its two stops of the world, and the heap's size and goal follow.
TEST(TraceTest, CollectorCyclesAreInTheTrace) {
  if (access(kGo, X_OK) != 0) GTEST_SKIP() << kGo << " not installed";
  std::string path = ::testing::TempDir() + "gort_trace_gc_test.out";
  constexpr int kCycles = 3;
  gort::Run([&] {
    FILE* f = fopen(path.c_str(), "w");
    FileWriter w{f};
    ASSERT_FALSE(trace::Start(w));
    for (int i = 0; i < kCycles; i++) {
      std::vector<Ptr<int64_t>> keep;
      for (int j = 0; j < 10000; j++) keep.push_back(New<int64_t>(j));
      runtime::GC();
    }
    trace::Stop();
    fclose(f);
  });
  int status = 0;
  std::string out = runCommand(std::string(kGo) + " tool trace -d " + path + " 2>&1", &status);
  ASSERT_EQ(status, 0) << out.substr(0, 4000);
  std::map<std::string, int> n;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string ts, name;
    fields >> ts >> name;
    n[name]++;
    if (name == "GCSTWStart") n[line.find("kind=sweep termination") != std::string::npos ? "sweep" : "mark"]++;
  }
  EXPECT_GE(n["GCStart"], kCycles) << out.substr(0, 4000);
  EXPECT_EQ(n["GCDone"], n["GCStart"]);
  EXPECT_GE(n["sweep"], n["GCStart"]);  // a snapshot that could not be taken stops the world too
  EXPECT_EQ(n["mark"], n["GCDone"]);
  EXPECT_EQ(n["GCSTWDone"], n["GCSTWStart"]);
  EXPECT_GE(n["HeapAlloc"], 2 * kCycles);
  EXPECT_GE(n["HeapGoal"], kCycles);
}

TEST(TraceTest, StopWithoutStartDoesNothing) {
  trace::Stop();
  EXPECT_FALSE(trace::IsEnabled());
}

}  // namespace
