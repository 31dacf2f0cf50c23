// binarytrees: the Computer Language Benchmarks Game allocation workload
// (single-threaded variant): allocate and check perfect binary trees.
// Mirrors anchors/go/binarytrees (same flags, same output); -new=true runs
// the same trees on plain new/delete (each tree deleted once checked), the
// baseline BENCHMARKS.md reports next to gort and Go.
#include <chrono>
#include <cstdio>

#include "gort/new.hpp"
#include "gort/runtime.hpp"
#include "flags.hpp"

namespace {

long maxDepth = 21;
bool plainNew = false;

struct Node {
  using trivially_collected = void;  // nothing to release: the collector frees it in bulk
  gort::Ptr<Node> left, right;
};

gort::Ptr<Node> bottomUp(int d) {
  if (d <= 0) return gort::New<Node>();
  auto n = gort::New<Node>();
  n->left = bottomUp(d - 1);
  n->right = bottomUp(d - 1);
  return n;
}

int check(const Node* n) { return n->left ? 1 + check(n->left.get()) + check(n->right.get()) : 1; }

struct RawNode {
  RawNode* left = nullptr;
  RawNode* right = nullptr;
  ~RawNode() {
    delete left;
    delete right;
  }
};

RawNode* rawBottomUp(int d) {
  auto* n = new RawNode();
  if (d > 0) {
    n->left = rawBottomUp(d - 1);
    n->right = rawBottomUp(d - 1);
  }
  return n;
}

int check(const RawNode* n) { return n->left ? 1 + check(n->left) + check(n->right) : 1; }

// The trees of either kind, built and checked the same way.
struct GortTrees {
  using Tree = gort::Ptr<Node>;
  static Tree make(int d) { return bottomUp(d); }
  static int checkOnce(Tree t) { return check(t.get()); }
  static int keep(const Tree& t) { return check(t.get()); }
  static void drop(Tree&) {}
};
struct NewTrees {
  using Tree = RawNode*;
  static Tree make(int d) { return rawBottomUp(d); }
  static int checkOnce(Tree t) {
    int c = check(t);
    delete t;
    return c;
  }
  static int keep(Tree t) { return check(t); }
  static void drop(Tree& t) { delete t; }
};

template <class Trees>
void trees(int n) {
  std::printf("stretch tree of depth %d\t check: %d\n", n + 1, Trees::checkOnce(Trees::make(n + 1)));
  typename Trees::Tree longLived = Trees::make(n);
  for (int d = 4; d <= n; d += 2) {
    long iters = 1L << (n - d + 4);
    long chk = 0;
    for (long i = 0; i < iters; i++) chk += Trees::checkOnce(Trees::make(d));
    std::printf("%ld\t trees of depth %d\t check: %ld\n", iters, d, chk);
  }
  std::printf("long lived tree of depth %d\t check: %d\n", n, Trees::keep(longLived));
  Trees::drop(longLived);
}

void run() {
  auto start = std::chrono::steady_clock::now();
  int n = maxDepth < 6 ? 6 : int(maxDepth);
  plainNew ? trees<NewTrees>(n) : trees<GortTrees>(n);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  gort::runtime::MemStats ms;
  gort::runtime::ReadMemStats(&ms);
  uint64_t maxPause = 0;
  for (uint64_t p : ms.PauseNs) maxPause = p > maxPause ? p : maxPause;
  std::printf("binarytrees: n=%ld %.0f ms gcs=%u max_pause=%.3f ms heap_sys=%llu MiB\n", maxDepth, double(us) / 1000,
              ms.NumGC, double(maxPause) / 1e6, (unsigned long long)(ms.HeapSys >> 20));
}

}  // namespace

int main(int argc, char** argv) {
  gortbench::parseFlag(argc, argv, "n", &maxDepth);
  gortbench::parseBoolFlag(argc, argv, "new", &plainNew);
  return gort::Main(argc, argv, run);
}
