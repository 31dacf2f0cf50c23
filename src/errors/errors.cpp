// errors.cpp: package errors (mirrors errors/errors.go, wrap.go).
#include "gort/errors.hpp"

namespace gort::errors {

namespace {
struct errorString final : error::Interface {
  explicit errorString(std::string s) : text(std::move(s)) {}
  std::string Error() const override { return text; }
  std::string text;
};
}  // namespace

error New(std::string text) { return make_error<errorString>(std::move(text)); }

error Unwrap(const error& err) { return err ? err.get()->Unwrap() : error(); }

bool Is(error err, const error& target) {
  if (!target) return !err;
  for (; err; err = err.get()->Unwrap()) {
    if (err == target) return true;
  }
  return false;
}

}  // namespace gort::errors
