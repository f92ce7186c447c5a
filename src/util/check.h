// TERN_CHECK: abort on a broken invariant of our own code.
//
// Never use it on input from the network or a file: that returns a Status
// (STYLE.md, "Errors"). A failed check prints file, line, the condition and
// an optional streamed message, then aborts.
//
//   TERN_CHECK(n <= capacity_) << "n=" << n;
//   TERN_CHECK_EQ(a.size(), b.size());
#ifndef TERN_UTIL_CHECK_H_
#define TERN_UTIL_CHECK_H_

#include <sstream>

namespace tern::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `TERN_CHECK(x) << ...` be a single expression of type void.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace tern::internal

#define TERN_CHECK(cond)                      \
  (cond) ? (void)0                            \
         : ::tern::internal::Voidify() &      \
               ::tern::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()

#define TERN_CHECK_OP_(a, op, b) TERN_CHECK((a)op(b)) << #a " = " << (a) << ", " #b " = " << (b) << " "
#define TERN_CHECK_EQ(a, b) TERN_CHECK_OP_(a, ==, b)
#define TERN_CHECK_NE(a, b) TERN_CHECK_OP_(a, !=, b)
#define TERN_CHECK_LT(a, b) TERN_CHECK_OP_(a, <, b)
#define TERN_CHECK_LE(a, b) TERN_CHECK_OP_(a, <=, b)
#define TERN_CHECK_GT(a, b) TERN_CHECK_OP_(a, >, b)
#define TERN_CHECK_GE(a, b) TERN_CHECK_OP_(a, >=, b)
// Aborts if a Status-returning expression fails: for calls that cannot fail
// unless tern has a bug.
#define TERN_CHECK_OK(expr)                                     \
  do {                                                          \
    ::tern::Status tern_check_status_ = (expr);                 \
    TERN_CHECK(tern_check_status_.ok()) << tern_check_status_.ToString(); \
  } while (0)

#endif  // TERN_UTIL_CHECK_H_
