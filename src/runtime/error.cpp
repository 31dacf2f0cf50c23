// error.cpp: run-time panic values and how panic values print (mirrors
// runtime/error.go: boundsError, TypeAssertionError, printany, and
// print.go's number formats).
//
// The messages are Go's, byte for byte, because programs and people match
// on them. Type names are C++'s, demangled, with the standard library's
// inline-namespace noise removed (std::string, not
// std::__cxx11::basic_string<char, ...>), since that is how a C++ reader
// spells them.
#include <cxxabi.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gort/any.hpp"
#include "gort/panic.hpp"
#include "gort/runtime_error.hpp"

namespace gort::internal {

namespace {

void replaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s->find(from, pos)) != std::string::npos; pos += to.size()) {
    s->replace(pos, from.size(), to);
  }
}

}  // namespace

std::string typeName(const std::type_info& t) {
  if (t == typeid(void)) return "nil";
  int status = 0;
  char* d = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string r = status == 0 && d ? d : t.name();
  std::free(d);
  replaceAll(&r, "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >", "std::string");
  replaceAll(&r, "std::__cxx11::", "std::");
  return r;
}

std::string printPointerValue(const std::type_info& t, const void* p) {
  char buf[32];
  snprintf(buf, sizeof buf, "%p", p);
  return "(" + typeName(t) + ") " + buf;
}

std::string printEnumValue(const std::type_info& t, long long v) {
  return typeName(t) + "(" + std::to_string(v) + ")";
}

std::string printSigned(long long v) { return std::to_string(v); }
std::string printUnsigned(unsigned long long v) { return std::to_string(v); }

// Go's runtime print of a float: sign, 7 significant digits, a 3-digit
// exponent ("+1.500000e+000"). Not printf's %e: the exponent width and the
// rounding (add half an ulp of the 7th digit, then truncate) differ.
std::string printFloat(double v) {
  if (v != v) return "NaN";
  if (v + v == v && v > 0) return "+Inf";
  if (v + v == v && v < 0) return "-Inf";
  constexpr int n = 7;
  char buf[n + 7];
  buf[0] = '+';
  int e = 0;
  if (v == 0) {
    if (1 / v < 0) buf[0] = '-';
  } else {
    if (v < 0) {
      v = -v;
      buf[0] = '-';
    }
    while (v >= 10) {
      e++;
      v /= 10;
    }
    while (v < 1) {
      e--;
      v *= 10;
    }
    double h = 5.0;
    for (int i = 0; i < n; i++) h /= 10;
    v += h;
    if (v >= 10) {
      e++;
      v /= 10;
    }
  }
  for (int i = 0; i < n; i++) {
    int s = int(v);
    buf[i + 2] = char(s + '0');
    v -= s;
    v *= 10;
  }
  buf[1] = buf[2];
  buf[2] = '.';
  buf[n + 2] = 'e';
  buf[n + 3] = '+';
  if (e < 0) {
    e = -e;
    buf[n + 3] = '-';
  }
  buf[n + 4] = char(e / 100 + '0');
  buf[n + 5] = char(e / 10 % 10 + '0');
  buf[n + 6] = char(e % 10 + '0');
  return std::string(buf, sizeof buf);
}

std::string printException(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (const char* s) {
    return s;
  } catch (const std::string& s) {
    return s;
  } catch (bool b) {
    return b ? "true" : "false";
  } catch (char c) {
    return printSigned(c);
  } catch (signed char c) {
    return printSigned(c);
  } catch (short v) {
    return printSigned(v);
  } catch (int v) {
    return printSigned(v);
  } catch (long v) {
    return printSigned(v);
  } catch (long long v) {
    return printSigned(v);
  } catch (unsigned char v) {
    return printUnsigned(v);
  } catch (unsigned short v) {
    return printUnsigned(v);
  } catch (unsigned v) {
    return printUnsigned(v);
  } catch (unsigned long v) {
    return printUnsigned(v);
  } catch (unsigned long long v) {
    return printUnsigned(v);
  } catch (float v) {
    return printFloat(v);
  } catch (double v) {
    return printFloat(v);
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return "(" + (t ? typeName(*t) : std::string("unknown")) + ") unknown exception";
  }
}

[[noreturn]] void panicIndex(long long i, long long len) {
  gort::panic(runtime::Error("runtime error: index out of range [" + std::to_string(i) + "] with length " +
                             std::to_string(len)));
}

[[noreturn]] void panicSliceAcap(long long hi, long long cap) {
  gort::panic(runtime::Error("runtime error: slice bounds out of range [:" + std::to_string(hi) + "] with capacity " +
                             std::to_string(cap)));
}

[[noreturn]] void panicSliceB(long long lo, long long hi) {
  // Go names only the low bound when it is negative: "[-1:]".
  std::string hiText = lo < 0 ? "" : std::to_string(hi);
  gort::panic(runtime::Error("runtime error: slice bounds out of range [" + std::to_string(lo) + ":" + hiText + "]"));
}

[[noreturn]] void panicMakeslice(const char* what) {
  gort::panic(runtime::Error(std::string("runtime error: makeslice: ") + what + " out of range"));
}

// Go's nil dereference is a fault, and its report says so: the same
// "[signal SIGSEGV ... addr=0x0 pc=...]" line, with the pc of the check.
[[noreturn, gnu::noinline]] void panicNilDeref() {
  auto pc = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  gort::panic(runtime::Error("runtime error: invalid memory address or nil pointer dereference")
                  .withSignal({SIGSEGV, SEGV_MAPERR, 0, pc}));
}

[[noreturn]] void panicDivide() { gort::panic(runtime::Error("runtime error: integer divide by zero")); }

[[noreturn]] void panicTypeAssertion(const any& x, const std::type_info& want) {
  gort::panic(runtime::TypeAssertionError(typeName(x.type()), typeName(want)));
}

}  // namespace gort::internal
