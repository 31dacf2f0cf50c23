// showcase: the program a newcomer runs first (scripts/showcase.sh). It puts
// the runtime to work on classic Go programs and prints what each did, how
// long it took, and the runtime's own counters:
//
//   skynet     a 10-ary tree of goroutines, a million leaves, summed over
//              unbuffered channels (the fan-out/fan-in stress test)
//   sieve      the concurrent prime sieve of the Go tour: a chain of
//              goroutines, one filter per prime, linked by channels
//   fan-in     four producers feeding one consumer through select
//   mutex      goroutines contending for one sync::Mutex, joined by a
//              sync::WaitGroup
//   sleepers   thousands of goroutines sleeping 1..10 ms on the timer heaps
//   words      word frequencies: goroutines count words into their own
//              gort::map, and the counts are merged over a channel
//
// Flags (Go style, -name=value or --name=value): -n (skynet leaves),
// -primes, -items (fan-in), -incs (mutex), -sleepers.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/map.hpp"
#include "gort/new.hpp"
#include "gort/runtime.hpp"
#include "gort/slice.hpp"
#include "gort/select.hpp"
#include "gort/sync.hpp"
#include "gort/time.hpp"

namespace {

struct Flags {
  int64_t leaves = 1000000;
  int primes = 1000;
  int items = 400000;
  int incs = 1000000;
  int sleepers = 10000;
} flags;

std::atomic<int64_t> started{0};  // goroutines this program started

template <class F, class... A>
void spawn(F&& f, A&&... a) {
  started.fetch_add(1, std::memory_order_relaxed);
  gort::go(std::forward<F>(f), std::forward<A>(a)...);
}

// One line of /proc/self/status, e.g. "Threads" or "VmHWM".
std::string procStatus(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0 && line[std::strlen(key)] == ':') {
      size_t v = line.find_first_not_of(" \t", std::strlen(key) + 1);
      return v == std::string::npos ? "" : line.substr(v);
    }
  }
  return "?";
}

void report(const char* name, gort::time::Time start, const std::string& what) {
  std::printf("%-9s %8.1f ms  %s\n", name, gort::time::Since(start).Seconds() * 1e3, what.c_str());
}

// ---- skynet ---------------------------------------------------------------------

void skynet(gort::send_only<int64_t> out, int64_t num, int64_t size) {
  if (size == 1) {
    out.send(num);
    return;
  }
  auto rc = gort::make_chan<int64_t>();
  for (int64_t i = 0; i < 10; i++) spawn(skynet, rc, num + i * (size / 10), size / 10);
  int64_t sum = 0;
  for (int i = 0; i < 10; i++) sum += rc.recv();
  out.send(sum);
}

void runSkynet() {
  auto start = gort::time::Now();
  int64_t before = started.load();
  auto c = gort::make_chan<int64_t>();
  spawn(skynet, c, 0, flags.leaves);
  int64_t sum = c.recv();
  int64_t n = flags.leaves;
  bool ok = sum == n * (n - 1) / 2;
  report("skynet", start,
         std::to_string(started.load() - before) + " goroutines, sum " + std::to_string(sum) +
             (ok ? " (correct)" : " (WRONG)"));
  if (!ok) std::exit(1);
}

// ---- prime sieve ----------------------------------------------------------------

void generate(gort::send_only<int> out) {
  for (int i = 2;; i++) out.send(i);
}

void filter(gort::recv_only<int> in, gort::send_only<int> out, int prime) {
  for (;;) {
    int i = in.recv();
    if (i % prime != 0) out.send(i);
  }
}

void runSieve() {
  auto start = gort::time::Now();
  auto ch = gort::make_chan<int>();
  spawn(generate, ch);
  int prime = 0;
  for (int i = 0; i < flags.primes; i++) {
    prime = ch.recv();
    auto next = gort::make_chan<int>();
    spawn(filter, ch, next, prime);
    ch = next;
  }
  // As in the Go tour, the filters stay blocked when main moves on: they
  // show up in NumGoroutine below.
  report("sieve", start,
         "first " + std::to_string(flags.primes) + " primes, the last is " + std::to_string(prime) +
             ", " + std::to_string(flags.primes + 1) + " goroutines in a chain");
}

// ---- select fan-in --------------------------------------------------------------

void runFanIn() {
  auto start = gort::time::Now();
  constexpr int kProducers = 4;
  gort::chan<int> chs[kProducers];
  int per = flags.items / kProducers;
  for (auto& c : chs) {
    c = gort::make_chan<int>();
    spawn([per](gort::send_only<int> out) {
      for (int j = 0; j < per; j++) out.send(1);
    }, c);
  }
  int got = 0, from[kProducers] = {};
  while (got < per * kProducers) {
    int k = gort::select(gort::recv(chs[0], [&](int v) { got += v; }),
                         gort::recv(chs[1], [&](int v) { got += v; }),
                         gort::recv(chs[2], [&](int v) { got += v; }),
                         gort::recv(chs[3], [&](int v) { got += v; }));
    from[k]++;
  }
  report("fan-in", start,
         std::to_string(got) + " items via select, per producer " + std::to_string(from[0]) + "/" +
             std::to_string(from[1]) + "/" + std::to_string(from[2]) + "/" + std::to_string(from[3]));
}

// ---- word frequencies -------------------------------------------------------------

void runWords() {
  auto start = gort::time::Now();
  constexpr int kCounters = 4, kWordsEach = 50000;
  static const char* const kVocabulary[] = {"go", "runtime", "map", "channel", "select", "goroutine",
                                            "stack", "heap", "swiss", "table", "scheduler", "timer"};
  auto partials = gort::make_chan<gort::map<std::string, int>>(kCounters);
  for (int c = 0; c < kCounters; c++) {
    spawn([c](gort::send_only<gort::map<std::string, int>> out) {
      auto counts = gort::make_map<std::string, int>();
      uint32_t x = uint32_t(c) * 2654435761u + 1;
      for (int i = 0; i < kWordsEach; i++) {
        x = x * 1664525u + 1013904223u;
        // Skewed: the first words come up far more often than the last.
        const char* w = kVocabulary[(x >> 16) % 12 * ((x >> 8) % 12) / 12];
        counts.set(w, counts.get(w) + 1);
      }
      out.send(counts);
    }, partials);
  }
  auto total = gort::make_map<std::string, int>();
  for (int c = 0; c < kCounters; c++) {
    for (auto [w, n] : partials.recv()) total.set(w, total.get(w) + n);
  }
  std::string top;
  int topCount = 0, words = 0;
  for (auto [w, n] : total) {
    words += n;
    if (n > topCount || (n == topCount && w < top)) top = w, topCount = n;
  }
  if (words != kCounters * kWordsEach) std::exit(1);
  report("words", start,
         std::to_string(words) + " words, " + std::to_string(gort::len(total)) + " distinct, most common \"" + top +
             "\" x" + std::to_string(topCount));
}

// ---- mutex ----------------------------------------------------------------------

void runMutex() {
  auto start = gort::time::Now();
  constexpr int kWorkers = 8;
  gort::sync::Mutex mu;
  gort::sync::WaitGroup wg;
  int64_t counter = 0;  // guarded by mu
  int per = flags.incs / kWorkers;
  for (int w = 0; w < kWorkers; w++) {
    wg.Add(1);
    spawn([&, per] {
      for (int j = 0; j < per; j++) {
        mu.Lock();
        counter++;
        mu.Unlock();
      }
      wg.Done();
    });
  }
  wg.Wait();
  bool ok = counter == int64_t(per) * kWorkers;
  report("mutex", start,
         std::to_string(kWorkers) + " goroutines made " + std::to_string(counter) +
             " locked increments" + (ok ? " (none lost)" : " (LOST SOME)"));
  if (!ok) std::exit(1);
}

// ---- sleepers -------------------------------------------------------------------

void runSleepers() {
  auto start = gort::time::Now();
  auto done = gort::make_chan<int64_t>(flags.sleepers);
  for (int i = 0; i < flags.sleepers; i++) {
    spawn([done](int i) {
      auto d = gort::time::Millisecond * (1 + i % 10);
      auto t0 = gort::time::Now();
      gort::time::Sleep(d);
      done.send((gort::time::Since(t0) - d).Nanoseconds());
    }, i);
  }
  int64_t late = 0, worst = 0;
  for (int i = 0; i < flags.sleepers; i++) {
    int64_t l = done.recv();
    late += l;
    worst = l > worst ? l : worst;
  }
  char buf[128];
  std::snprintf(buf, sizeof buf, "%d goroutines slept 1..10 ms, late %.3f ms mean, %.3f ms worst",
                flags.sleepers, double(late) / flags.sleepers / 1e6, double(worst) / 1e6);
  report("sleepers", start, buf);
}

// ---- a tree on gort's heap ------------------------------------------------------------

struct TreeNode {
  using trivially_collected = void;  // the collector frees it in bulk, no destructor to run
  gort::Ptr<TreeNode> left, right;
};

gort::Ptr<TreeNode> makeTree(int depth) {
  auto n = gort::New<TreeNode>();
  if (depth > 0) {
    n->left = makeTree(depth - 1);
    n->right = makeTree(depth - 1);
  }
  return n;
}

int64_t countNodes(const gort::Ptr<TreeNode>& n) { return n ? 1 + countNodes(n->left) + countNodes(n->right) : 0; }

void runTree() {
  constexpr int kDepth = 16, kSubtrees = 8;  // 8 subtrees of depth 16, built in parallel
  auto start = gort::time::Now();
  auto roots = gort::make_slice<gort::Ptr<TreeNode>>(kSubtrees);
  gort::sync::WaitGroup wg;
  for (int i = 0; i < kSubtrees; i++) {
    wg.Add(1);
    spawn([&roots, &wg](int i) {
      roots[i] = makeTree(kDepth);
      wg.Done();
    }, i);
  }
  wg.Wait();
  int64_t nodes = 0;
  for (auto& r : roots) nodes += countNodes(r);
  gort::runtime::MemStats before, after;
  gort::runtime::ReadMemStats(&before);
  // Drop half the trees: the collector frees them.
  for (int i = 0; i < kSubtrees / 2; i++) roots[i] = nullptr;
  gort::runtime::GC();
  gort::runtime::ReadMemStats(&after);
  int64_t kept = 0;
  for (auto& r : roots) kept += countNodes(r);
  uint64_t lastPause = after.PauseNs[(after.NumGC + 255) % 256];
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%lld tree nodes with gort::New; half dropped: heap %.1f -> %.1f MiB, %u GCs, last pause %.3f ms",
                static_cast<long long>(nodes), double(before.HeapAlloc) / (1 << 20),
                double(after.HeapAlloc) / (1 << 20), after.NumGC, double(lastPause) / 1e6);
  report("heap", start, buf);
  if (nodes != kSubtrees * ((int64_t(1) << (kDepth + 1)) - 1) || kept != nodes / 2) std::exit(1);
}

void showcaseMain() {
  namespace rt = gort::runtime;
  std::printf("gort showcase: %s on %s/%s, GOMAXPROCS=%d, NumCPU=%d\n\n", rt::Version().c_str(), rt::GOOS,
              rt::GOARCH, rt::GOMAXPROCS(0), rt::NumCPU());
  auto start = gort::time::Now();
  runSkynet();
  runSieve();
  runFanIn();
  runWords();
  runMutex();
  runSleepers();
  runTree();
  std::printf("\nruntime counters:\n");
  std::printf("  goroutines started      %lld\n", static_cast<long long>(started.load()));
  std::printf("  NumGoroutine now        %d (main + the sieve's parked filters)\n", rt::NumGoroutine());
  std::printf("  GOMAXPROCS / NumCPU     %d / %d\n", rt::GOMAXPROCS(0), rt::NumCPU());
  std::printf("  OS threads              %s\n", procStatus("Threads").c_str());
  std::printf("  peak resident memory    %s\n", procStatus("VmHWM").c_str());
  std::printf("  total time              %.1f ms\n", gort::time::Since(start).Seconds() * 1e3);
}

// Go's flag syntax for integers: -name=v or --name=v.
bool intFlag(const char* arg, const char* name, int64_t* out) {
  while (*arg == '-') arg++;
  size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  char* end = nullptr;
  long long v = std::strtoll(arg + n + 1, &end, 10);
  if (*end != '\0' || v <= 0) {
    std::fprintf(stderr, "invalid value \"%s\" for flag -%s\n", arg + n + 1, name);
    std::exit(2);
  }
  *out = v;
  return true;
}

void parseFlags(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    int64_t v = 0;
    if (intFlag(argv[i], "n", &flags.leaves)) continue;
    if (intFlag(argv[i], "primes", &v)) { flags.primes = int(v); continue; }
    if (intFlag(argv[i], "items", &v)) { flags.items = int(v); continue; }
    if (intFlag(argv[i], "incs", &v)) { flags.incs = int(v); continue; }
    if (intFlag(argv[i], "sleepers", &v)) { flags.sleepers = int(v); continue; }
    std::fprintf(stderr, "usage: showcase [-n=leaves] [-primes=N] [-items=N] [-incs=N] [-sleepers=N]\n");
    std::exit(2);
  }
  int64_t p = 1;
  while (p < flags.leaves) p *= 10;
  if (p != flags.leaves) {
    std::fprintf(stderr, "showcase: -n must be a power of 10 (skynet's tree is 10-ary)\n");
    std::exit(2);
  }
}

}  // namespace

int main(int argc, char** argv) {
  parseFlags(argc, argv);
  gort::Main(argc, argv, showcaseMain);
}
