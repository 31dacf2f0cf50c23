// The runtime's type descriptor (internal/type.hpp): what it says about a
// type, and that its operations do what the type's own do.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "gort/internal/type.hpp"

namespace {

using gort::internal::Type;
using gort::internal::typeOf;

struct Empty {};
struct Plain {
  int a;
  double b;
};
struct MoveOnly {
  std::unique_ptr<int> p;
};
struct Key {
  int id;
  bool operator==(const Key&) const = default;
};

static_assert(typeOf<Empty>.size == 0, "Go's struct{}: no storage");
static_assert(typeOf<Plain>.size == sizeof(Plain) && typeOf<Plain>.align == alignof(Plain));
static_assert(!typeOf<Plain>.mayHoldPointers() && !typeOf<int>.mayHoldPointers(),
              "a trivially copyable type cannot hold a collected pointer");
static_assert(typeOf<std::string>.mayHoldPointers() && typeOf<MoveOnly>.mayHoldPointers());
static_assert(typeOf<Plain>.copyable() && typeOf<std::string>.copyable() && !typeOf<MoveOnly>.copyable());
static_assert(typeOf<int>.comparable() && typeOf<Key>.comparable() && !typeOf<Plain>.comparable());

TEST(Type, TrivialTypesUseNoFunctions) {
  constexpr const Type& t = typeOf<Plain>;
  EXPECT_EQ(t.copy, nullptr);
  EXPECT_EQ(t.move, nullptr);
  EXPECT_EQ(t.destroy, nullptr);
  EXPECT_EQ(t.zero, nullptr);
  EXPECT_EQ(t.hash, nullptr) << "no std::hash<Plain>";
  EXPECT_EQ(t.equal, nullptr);
  EXPECT_EQ(*t.info, typeid(Plain));
}

TEST(Type, OperationsActAsTheTypesOwn) {
  const Type& t = typeOf<std::string>;
  alignas(std::string) unsigned char a[sizeof(std::string)], b[sizeof(std::string)], z[sizeof(std::string)];
  std::string src = "a string long enough to live on the heap";
  t.copy(a, &src);
  EXPECT_EQ(*reinterpret_cast<std::string*>(a), src);
  t.move(b, a);
  EXPECT_EQ(*reinterpret_cast<std::string*>(b), src);
  t.zero(z);
  EXPECT_EQ(*reinterpret_cast<std::string*>(z), "");
  EXPECT_TRUE(t.equal(b, &src));
  EXPECT_FALSE(t.equal(z, &src));
  EXPECT_EQ(t.hash(b, 7), t.hash(&src, 7)) << "equal keys hash alike";
  EXPECT_NE(t.hash(&src, 7), t.hash(&src, 8)) << "the seed changes the hash";
  t.destroy(a);
  t.destroy(b);
  t.destroy(z);
}

TEST(Type, AMoveOnlyTypeMovesAndHasNoCopy) {
  const Type& t = typeOf<MoveOnly>;
  EXPECT_EQ(t.copy, nullptr);
  alignas(MoveOnly) unsigned char d[sizeof(MoveOnly)];
  MoveOnly src{std::make_unique<int>(42)};
  t.move(d, &src);
  auto* moved = reinterpret_cast<MoveOnly*>(d);
  EXPECT_EQ(*moved->p, 42);
  EXPECT_EQ(src.p, nullptr);
  t.destroy(d);
}

}  // namespace
