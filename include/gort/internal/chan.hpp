// internal/chan.hpp: the type-erased channel core behind gort::chan<T> and
// gort::select (not public API). The templates in gort/chan.hpp and
// gort/select.hpp lower each operation to one call here, as Go's compiler
// lowers `c <- x` to chansend1 and `select` to selectgo; everything else
// lives in src/runtime/chan.cpp and select.cpp.
//
// Element protocol: the core moves elements with the element Type's functions.
// A send passes the address of a live value; the core move-constructs from
// it only if the send happens (the caller still destroys its object). A
// receive passes uninitialised storage; when the receive happens the core has
// constructed an element there (the value, or the zero value T{} when the
// channel is closed), which the caller then owns.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "gort/internal/type.hpp"

namespace gort::internal {

struct hchan;

// A channel's element type is described by its Type (internal/type.hpp),
// as Go's chantype points at its elem _type.

// The reference count every chan<T> handle holds (the first member of
// hchan); the channel and any buffered elements are freed with the last one.
struct chanHeader {
  std::atomic<int64_t> refs{1};
};

hchan* makechan(const Type* t, int64_t size);
void freechan(hchan* c);
inline void chanRetain(hchan* c) {
  if (c) reinterpret_cast<chanHeader*>(c)->refs.fetch_add(1, std::memory_order_relaxed);
}
inline void chanRelease(hchan* c) {
  if (c && reinterpret_cast<chanHeader*>(c)->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) freechan(c);
}

// Blocking send (chansend1) and non-blocking send (selectnbsend: true if
// sent). Both panic "send on closed channel".
void chansend1(hchan* c, void* elem);
bool chansendnb(hchan* c, void* elem);
// Blocking receive (chanrecv1/2): returns ok (false: closed and drained).
bool chanrecv1(hchan* c, void* elem);
// Non-blocking receive (selectnbrecv): true if a receive happened, then *ok.
bool chanrecvnb(hchan* c, void* elem, bool* ok);
void closechan(hchan* c);
int chanlen(hchan* c);
int chancap(hchan* c);

// select. cases[0, nsends) are sends, [nsends, nsends + nrecvs) receives; a
// case with c == null (a nil channel) never proceeds. order is scratch space
// for 2 * (nsends + nrecvs) entries. Returns the index of the case that
// proceeded, or -1 if none could and !block; *recvOK as for chanrecv1.
struct scase {
  hchan* c;
  void* elem;
};
int selectgo(scase* cases, uint16_t* order, int nsends, int nrecvs, bool block, bool* recvOK);
// `select {}`: park forever (runtime.block).
[[noreturn]] void block();

}  // namespace gort::internal
