// any.hpp: gort::any, the value type of panics (Go's `any`, the empty
// interface), and type assertions on it.
//
// A Go interface value is a (type, data) pair; the type word is what lets the
// runtime print a panic value without knowing its static type ("panic: 42",
// "panic: main.MyInt(5)", "panic: (main.T) 0xc000012345") and call Error()
// or String() on it. gort::any is the same pair: the data lives in a
// std::any, the type word is a static descriptor (internal::TypeDesc)
// instantiated where the value is boxed, while the static type is still
// known, so printing and the error/stringer checks need no registration.
//
// Boxing normalises Go's string kinds: `const char*`, string literals and
// std::string_view are stored as std::string, so as<std::string>(v) works
// however the string was written.
//
// Type assertions mirror Go's `x.(T)` (as<T>: panics with a
// runtime::TypeAssertionError, "interface conversion: interface {} is
// std::string, not int") and `v, ok := x.(T)` (as2<T>). They match the exact
// dynamic type, as Go's assertion to a concrete type does; Go's assertion to
// the error interface is any::error(), which finds any value derived from
// std::exception (runtime::Error included).
#pragma once

#include <any>
#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace gort {

class any;

namespace internal {

// The type word of a gort::any (the part of Go's _type that panics use).
struct TypeDesc {
  const std::type_info& cpp;
  // Go's printany / preprintpanics: how the panic line shows the value.
  std::string (*print)(const std::any& v);
  // The value as an error (it derives from std::exception), or null.
  const std::exception* (*error)(const std::any& v);
};

std::string typeName(const std::type_info& t);  // demangled, std::string spelled so
std::string printPointerValue(const std::type_info& t, const void* p);  // "(T) 0x..."
std::string printEnumValue(const std::type_info& t, long long v);       // "T(5)"
std::string printFloat(double v);                                       // Go's +1.500000e+000
std::string printSigned(long long v);
std::string printUnsigned(unsigned long long v);
// A thrown value as panic(v) prints that value: a number in Go's format, a
// string as is, a std::exception as its what() (Go prints an error as its
// Error()); any other type as "(T) unknown exception".
std::string printException(const std::exception_ptr& e);
[[noreturn]] void panicTypeAssertion(const any& x, const std::type_info& want);

template <class T>
concept HasError = requires(const T& v) {
  { v.Error() } -> std::convertible_to<std::string>;
};
template <class T>
concept HasString = requires(const T& v) {
  { v.String() } -> std::convertible_to<std::string>;
};

template <class T>
std::string printValue(const std::any& a) {
  const T& v = *std::any_cast<T>(&a);
  if constexpr (HasError<T>) {
    return std::string(v.Error());
  } else if constexpr (std::is_base_of_v<std::exception, T>) {
    return v.what();
  } else if constexpr (HasString<T>) {
    return std::string(v.String());
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v;
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_same_v<T, std::exception_ptr>) {
    return printException(v);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return printSigned(v);
  } else if constexpr (std::is_integral_v<T>) {
    return printUnsigned(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    return printFloat(double(v));
  } else if constexpr (std::is_enum_v<T>) {
    return printEnumValue(typeid(T), static_cast<long long>(v));
  } else {
    return printPointerValue(typeid(T), &v);
  }
}

template <class T>
const std::exception* errorOf(const std::any& a) {
  if constexpr (std::is_base_of_v<std::exception, T>) {
    return std::any_cast<T>(&a);
  } else if constexpr (std::is_same_v<T, std::exception_ptr>) {
    try {
      std::rethrow_exception(*std::any_cast<T>(&a));
    } catch (const std::exception& e) {
      return &e;  // lives as long as the exception_ptr in the any
    } catch (...) {
      return nullptr;
    }
  } else {
    return nullptr;
  }
}

template <class T>
inline const TypeDesc typeDesc{typeid(T), &printValue<T>, &errorOf<T>};

// Go's string kinds all box as std::string.
template <class T>
using Boxed = std::conditional_t<std::is_convertible_v<const std::decay_t<T>&, std::string_view> &&
                                     !std::is_same_v<std::decay_t<T>, std::nullptr_t>,
                                 std::string, std::decay_t<T>>;

}  // namespace internal

class any {
 public:
  any() noexcept = default;
  any(std::nullptr_t) noexcept {}  // Go's nil interface

  template <class T>
    requires(!std::is_same_v<std::decay_t<T>, any> && !std::is_same_v<std::decay_t<T>, std::nullptr_t>)
  any(T&& v) : v_(internal::Boxed<T>(std::forward<T>(v))), t_(&internal::typeDesc<internal::Boxed<T>>) {
    static_assert(std::is_copy_constructible_v<internal::Boxed<T>>, "a gort::any value must be copyable");
  }

  bool has_value() const noexcept { return t_ != nullptr; }
  explicit operator bool() const noexcept { return has_value(); }
  friend bool operator==(const any& a, std::nullptr_t) noexcept { return !a.has_value(); }

  // The dynamic type (typeid(void) for nil).
  const std::type_info& type() const noexcept { return t_ ? t_->cpp : typeid(void); }
  // A pointer to the value if its dynamic type is exactly T, else null.
  template <class T>
  const T* get_if() const noexcept {
    return t_ && t_->cpp == typeid(T) ? std::any_cast<T>(&v_) : nullptr;
  }
  // Go's v.(error): the value as a std::exception (runtime::Error, a
  // standard exception, a rethrown foreign exception), or null.
  const std::exception* error() const { return t_ ? t_->error(v_) : nullptr; }
  // The value as Go prints a panic value: Error() or String() if it has
  // one, strings as they are, numbers in Go's print format, "nil".
  std::string String() const { return t_ ? t_->print(v_) : "nil"; }

 private:
  std::any v_;
  const internal::TypeDesc* t_ = nullptr;
};

// x.(T): the value, or a panic with runtime::TypeAssertionError.
template <class T>
T as(const any& x) {
  if (const T* p = x.get_if<T>()) return *p;
  internal::panicTypeAssertion(x, typeid(T));
}

// v, ok := x.(T)
template <class T>
std::pair<T, bool> as2(const any& x) {
  if (const T* p = x.get_if<T>()) return {*p, true};
  return {T{}, false};
}

}  // namespace gort
