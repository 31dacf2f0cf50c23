// mem_linux.cpp: the heap's memory from the OS (mirrors runtime/mem_linux.go
// and mem.go). Address space goes through Go's states: reserved (PROT_NONE,
// no memory behind it), ready (mapped read-write; the kernel backs a page
// when it is first touched, so "commit on use" is the kernel's own), and
// unused again (madvise: the pages leave the RSS, the mapping stays).
// Freed memory is returned with MADV_DONTNEED by default (Go's Linux default
// since 1.16: the RSS falls at once) or MADV_FREE with GODEBUG=madvdontneed=0
// (cheaper; the kernel reclaims the pages only under memory pressure).
#include "runtime/malloc.hpp"

#include <sys/mman.h>

#include <cerrno>

#include "runtime/panic.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime1.hpp"

namespace gort::internal {

[[noreturn]] void outOfMemory(uintptr_t n) {
  printstr("runtime: out of memory: cannot allocate ");
  printint(int64_t(n));
  printstr("-byte block (");
  printint(int64_t(heapStats().heapSys.load(std::memory_order_relaxed)));
  printstr(" in use)\n");
  throw_("out of memory");
}

void* sysAlloc(uintptr_t n, std::atomic<uint64_t>* sysStat) {
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) outOfMemory(n);
  if (sysStat) sysStat->fetch_add(n, std::memory_order_relaxed);
  return p;
}

void* sysReserve(void* hint, uintptr_t n) {
  void* p = mmap(hint, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void sysMap(void* v, uintptr_t n) {
  void* p = mmap(v, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED) outOfMemory(n);
}

void sysUnused(void* v, uintptr_t n) {
  // MADV_FREE needs Linux 4.5; an older kernel's EINVAL falls back.
  if (!debug.madvdontneed && madvise(v, n, MADV_FREE) == 0) return;
  madvise(v, n, MADV_DONTNEED);
}

void sysHugePage(void* v, uintptr_t n) { madvise(v, n, MADV_HUGEPAGE); }

void sysFree(void* v, uintptr_t n) { munmap(v, n); }

}  // namespace gort::internal
