# runtime-gdb.py: gdb support for gort's goroutines (in the spirit of Go's
# src/runtime/runtime-gdb.py, written afresh for gort's data structures).
#
#   info goroutines        one line per goroutine: id, status, wait reason,
#                          and the innermost frame outside the runtime
#   goroutine N bt         backtrace of goroutine N (any gdb command works in
#   goroutine all bt       place of bt: `goroutine 7 info frame`)
#
# Load it with `source /path/to/runtime-gdb.py`, or let gdb auto-load it from
# the .debug_gdb_scripts entry the library embeds (README, "Debugging with
# gdb"). It only reads memory and registers, so it works on a live process
# and on a core file alike.
#
# What it reads (src/runtime/runtime2.hpp): the allgs chain of every g ever
# allocated (g.alllink), g.goid, g.atomicstatus, g.waitreason, g.mp and
# m.tid, and g.sched.sp. A parked G's callee-saved registers and its resume
# pc lie on its own stack in the frame gort_swapcontext pushed
# (asm_<arch>.h, SWITCH_*); `goroutine N bt` points the selected thread's
# $pc/$sp/frame pointer at that context, runs the command and puts the
# registers back. A G that is running (or in a syscall) is shown through the
# thread of its M.

import gdb

_NS = "gort::internal::"

# Fallbacks when the library's own tables cannot be read (no debug info for
# runtime1.cpp, say). They mirror runtime2.hpp's enums.
_STATUS_FALLBACK = {0: "idle", 1: "runnable", 2: "running", 3: "syscall", 4: "waiting", 6: "dead"}
_WAIT_FALLBACK = ["", "chan receive (nil chan)", "chan send (nil chan)", "select", "select (no cases)",
                  "chan receive", "chan send", "semacquire", "sleep", "sync.Cond.Wait", "IO wait",
                  "preempted", "locked thread"]
_G_RUNNABLE, _G_RUNNING, _G_SYSCALL, _G_WAITING, _G_DEAD, _G_IDLE = 1, 2, 3, 4, 6, 0

# Functions of the runtime itself, skipped when naming a goroutine's frame.
_RUNTIME_PREFIXES = ("gort::", "gort_", "std::", "__")


def _lookup(name):
    """The value of a runtime global, namespaced or in an anonymous namespace.

    Only a value in memory will do: an LTO build may also describe the
    variable without a location (in another unit), which gdb can find first.
    """
    names = (_NS + name, _NS + "(anonymous namespace)::" + name)
    for full in names:
        sym = gdb.lookup_global_symbol(full) or gdb.lookup_static_symbol(full)
        if sym is not None and sym.value().address is not None:
            return sym.value()
    for full in names:
        try:
            v = gdb.parse_and_eval("'%s'" % full)
        except gdb.error:
            continue
        if v.address is not None:
            return v
    # LTO renames an internal variable's linkage symbol (name.lto_priv.N) and
    # may leave its debug info without a location: read the ELF symbol.
    mangled = "_ZN4gort8internal12_GLOBAL__N_1%d%sE" % (len(name), name)
    for sym in [mangled] + ["%s.lto_priv.%d" % (mangled, n) for n in range(4)]:
        try:
            return gdb.parse_and_eval("*(char *)&'%s'" % sym)
        except gdb.error:
            continue
    raise gdb.GdbError("gort: cannot find %s%s; is this a gort program with debug info?" % (_NS, name))


def _atomic_load(v, type_):
    """The contents of a std::atomic<T>, read as T (its only member)."""
    return v.address.cast(type_.pointer()).dereference()


def _arch():
    try:
        name = gdb.selected_inferior().architecture().name()
    except (gdb.error, RuntimeError):
        name = gdb.newest_frame().architecture().name()
    return "arm64" if "aarch64" in name else "amd64"


def _ptr_size():
    return gdb.lookup_type("void").pointer().sizeof


def _read_word(addr):
    mem = gdb.selected_inferior().read_memory(addr, _ptr_size())
    return int.from_bytes(bytes(mem), "little")


def _status_names():
    names = dict(_STATUS_FALLBACK)
    try:
        for f in gdb.lookup_type(_NS + "Gstatus").fields():
            n = f.name.split("::")[-1]
            names[int(f.enumval)] = n[1:] if n.startswith("G") else n
    except gdb.error:
        pass
    return names


def _wait_strings():
    try:
        arr = gdb.parse_and_eval("'%swaitReasonString(%swaitReason)::kStrings'" % (_NS, _NS))
        lo, hi = arr.type.range()
        return [arr[i].string() for i in range(lo, hi + 1)]
    except (gdb.error, RuntimeError, gdb.MemoryError):
        return list(_WAIT_FALLBACK)


def _allgs():
    """Every G with a goid, oldest first (allgs is pushed at its head)."""
    gptr = gdb.lookup_type(_NS + "g").pointer()
    gp = _atomic_load(_lookup("allgs"), gptr)
    out = []
    seen = set()
    while int(gp) != 0 and int(gp) not in seen:
        seen.add(int(gp))
        out.append(gp)
        gp = gp["alllink"]
    out.reverse()
    return out


class _G(object):
    def __init__(self, gp, status_names, waits):
        self.gp = gp
        self.goid = int(gp["goid"])
        self.status = int(_atomic_load(gp["atomicstatus"], gdb.lookup_type("unsigned int")))
        self.status_name = status_names.get(self.status, "status %d" % self.status)
        wr = int(gp["waitreason"].cast(gdb.lookup_type("unsigned char")))
        self.waitreason = waits[wr] if wr < len(waits) else "wait reason %d" % wr
        self.sp = int(gp["sched"]["sp"])
        mp = gp["mp"]
        self.tid = int(mp["tid"]) if int(mp) != 0 else 0
        self.mid = int(mp["id"]) if int(mp) != 0 else -1

    def on_thread(self):
        return self.status in (_G_RUNNING, _G_SYSCALL)

    def listed(self):
        return self.goid != 0 and self.status not in (_G_DEAD, _G_IDLE)


def _goroutines():
    names, waits = _status_names(), _wait_strings()
    return [g for g in (_G(gp, names, waits) for gp in _allgs()) if g.listed()]


def _thread_for_tid(tid):
    for t in gdb.selected_inferior().threads():
        if t.ptid[1] == tid:
            return t
    return None


def _parked_context(g):
    """(pc, sp, fp) a parked G resumes with, or None if it has no context yet."""
    if g.sp == 0 or g.gp["slot"] == 0:
        return None  # queued but never run: its stack is attached when it first runs
    if _arch() == "arm64":
        # x29/x30 at 80/88 in a 176-byte switch frame (asm_arm64.h).
        return _read_word(g.sp + 88), g.sp + 176, _read_word(g.sp + 80)
    # rbp at 48, return address at 56, 64 bytes in all (asm_amd64.h).
    return _read_word(g.sp + 56), g.sp + 64, _read_word(g.sp + 48)


def _regnames():
    return ("pc", "sp", "x29") if _arch() == "arm64" else ("rip", "rsp", "rbp")


class _FrameId(object):
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


try:
    from gdb.unwinder import Unwinder as _Unwinder, register_unwinder as _register_unwinder
except ImportError:  # a gdb without Python unwinders: no goroutine backtraces on cores
    _Unwinder = None


if _Unwinder is not None:
    class _GoroutineUnwinder(_Unwinder):
        """On a core file the registers cannot be set. While `ctx` is set,
        this makes the selected thread's innermost frame return into a
        parked G's context instead: frame 1 onwards is the G's stack."""

        def __init__(self):
            super(_GoroutineUnwinder, self).__init__("gort-goroutine")
            self.ctx = None

        def __call__(self, pending_frame):
            if self.ctx is None or pending_frame.level() != 0:
                return None
            pcn, spn, fpn = _regnames()
            pc0, sp0 = pending_frame.read_register(pcn), pending_frame.read_register(spn)
            info = pending_frame.create_unwind_info(_FrameId(sp0, pc0))
            for name, v in zip((pcn, spn, fpn), self.ctx):
                t = pending_frame.read_register(name).type
                info.add_saved_register(name, gdb.Value(v).cast(t))
            return info

    _UNWINDER = _GoroutineUnwinder()
    _register_unwinder(None, _UNWINDER, replace=True)
else:
    _UNWINDER = None


class _Switched(object):
    """Context manager: the selected thread's frame 0 shows G's context."""

    def __init__(self, g):
        self.g = g
        self.saved = None
        self.skip = 0  # frames of the thread shown before the G's own (1 on a core)

    def __enter__(self):
        self.old_thread = gdb.selected_thread()
        try:
            self.old_frame_level = gdb.selected_frame().level()
        except gdb.error:
            self.old_frame_level = None
        if self.g.on_thread():
            t = _thread_for_tid(self.g.tid)
            if t is None:
                raise gdb.GdbError("goroutine %d: no thread with LWP %d (M %d)" % (self.g.goid, self.g.tid, self.g.mid))
            t.switch()
            gdb.newest_frame().select()
            return self
        ctx = _parked_context(self.g)
        if ctx is None:
            raise gdb.GdbError("goroutine %d has not run yet: no stack to show" % self.g.goid)
        gdb.newest_frame().select()
        regs = ("pc", "sp", "x29") if _arch() == "arm64" else ("pc", "sp", "rbp")
        self.saved = [(r, int(gdb.parse_and_eval("(unsigned long)$" + r))) for r in regs]
        try:
            for r, v in zip(regs, ctx):
                gdb.execute("set $%s = %d" % (r, v), to_string=True)
        except gdb.error as e:
            # No process (a core file): registers are read-only. Unwind
            # into the G's context from frame 0 instead.
            try:
                self._restore()
            except gdb.error:
                self.saved = None
            if _UNWINDER is None:
                raise gdb.GdbError("goroutine %d: cannot set registers (%s)" % (self.g.goid, e))
            _UNWINDER.ctx = ctx
            gdb.invalidate_cached_frames()
            self.skip = 1
        gdb.newest_frame().select()
        return self

    def _restore(self):
        if self.saved:
            for r, v in self.saved:
                gdb.execute("set $%s = %d" % (r, v), to_string=True)
            self.saved = None

    def __exit__(self, *exc):
        self._restore()
        if self.skip:
            _UNWINDER.ctx = None
            gdb.invalidate_cached_frames()
        if self.old_thread is not None and self.old_thread.is_valid():
            self.old_thread.switch()
            if self.old_frame_level is not None:
                f = gdb.newest_frame()
                for _ in range(self.old_frame_level):
                    if f.older() is None:
                        break
                    f = f.older()
                f.select()
        return False


def _frames(skip):
    """The frames from the newest, less the `skip` innermost."""
    f = gdb.newest_frame()
    for _ in range(skip):
        f = f.older() if f is not None else None
    n = 0
    while f is not None and n < 256:
        yield f
        try:
            f = f.older()
        except gdb.error:
            break
        n += 1


def _print_bt(skip, limit):
    """A plain backtrace from frame `skip`, numbered from 0 (where `bt`
    cannot be used: the G's frames start at frame 1 on a core)."""
    for i, f in enumerate(_frames(skip)):
        if limit is not None and i >= limit:
            gdb.write("(More stack frames follow...)\n")
            break
        sal = f.find_sal()
        where = ""
        if sal.symtab is not None and sal.line:
            where = " at %s:%d" % (sal.symtab.filename, sal.line)
        addr = "" if f.type() == gdb.INLINE_FRAME else "0x%016x in " % f.pc()
        gdb.write("#%-2d %s%s ()%s\n" % (i, addr, f.name() or "??", where))


def _user_frame(skip=0):
    """The innermost frame outside the runtime (else the innermost)."""
    first = None
    for f in _frames(skip):
        name = f.name() or ""
        if first is None and name:
            first = f
        if name and not name.startswith(_RUNTIME_PREFIXES):
            return f
    return first


def _describe(frame):
    if frame is None:
        return "?"
    name = frame.name() or "0x%x" % frame.pc()
    sal = frame.find_sal()
    where = ""
    if sal.symtab is not None and sal.line:
        where = " at %s:%d" % (sal.symtab.filename.split("/")[-1], sal.line)
    return "0x%x in %s%s" % (frame.pc(), name, where)


class InfoGoroutines(gdb.Command):
    """List gort's goroutines: id, status, wait reason and current function.

A * marks the goroutine running on the selected thread. The function is the
innermost frame outside the gort runtime (for a parked goroutine, the user
code that blocked)."""

    def __init__(self):
        super(InfoGoroutines, self).__init__("info goroutines", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        cur = None
        try:
            cur = gdb.selected_thread().ptid[1]
        except (gdb.error, AttributeError):
            pass
        for g in _goroutines():
            mark = "*" if g.on_thread() and g.tid == cur else " "
            state = g.status_name
            if g.status == _G_WAITING and g.waitreason:
                state += " (%s)" % g.waitreason
            if g.on_thread():
                state += " [M %d, LWP %d]" % (g.mid, g.tid)
            try:
                with _Switched(g) as sw:
                    here = _describe(_user_frame(sw.skip))
            except gdb.GdbError as e:
                here = "(%s)" % str(e).split(": ", 1)[-1]
            except (gdb.error, gdb.MemoryError) as e:
                here = "(%s)" % e
            gdb.write("%s %4d %-28s %s\n" % (mark, g.goid, state, here))


class GoroutineCmd(gdb.Command):
    """Run a gdb command in the context of a goroutine.

Usage: goroutine N CMD      e.g. goroutine 12 bt
       goroutine all CMD    for every goroutine in turn"""

    def __init__(self):
        super(GoroutineCmd, self).__init__("goroutine", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        parts = arg.split(None, 1)
        if len(parts) < 2:
            raise gdb.GdbError("usage: goroutine (N|all) CMD")
        which, cmd = parts
        gs = _goroutines()
        if which != "all":
            try:
                goid = int(which, 0)
            except ValueError:
                raise gdb.GdbError("goroutine: %r is not a goroutine id" % which)
            gs = [g for g in gs if g.goid == goid]
            if not gs:
                raise gdb.GdbError("goroutine %d not found" % goid)
        for g in gs:
            if which == "all":
                gdb.write("\ngoroutine %d (%s):\n" % (g.goid, g.status_name))
            try:
                with _Switched(g) as sw:
                    if not sw.skip:
                        gdb.execute(cmd, from_tty)
                    elif cmd.split()[0] in ("bt", "backtrace", "where"):
                        args = cmd.split()[1:]
                        limit = int(args[0]) if args and args[0].isdigit() else None
                        _print_bt(sw.skip, limit)
                    else:
                        raise gdb.GdbError("goroutine %d: without a process (a core file) only bt works" % g.goid)
            except gdb.GdbError as e:
                if which != "all":
                    raise
                gdb.write("%s\n" % e)


InfoGoroutines()
GoroutineCmd()
