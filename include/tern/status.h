// Status and Result<T>: errors as values (DESIGN.md semantic 1).
//
// Status is one pointer: null when OK, otherwise a heap record with a code and
// a message, so returning an OK status costs nothing (LevelDB). The codes and
// their numbers are gRPC's / abseil's, and each has one meaning in tern:
//
//   kUnavailable       a peer's connection closed or reset; retry after a
//                      membership update (UpdateTopology)
//   kDeadlineExceeded  an operation's deadline passed
//   kAborted           the master announced a new world revision mid-operation;
//                      retry the step on the new world
//   kDataLoss          a bad frame, checksum or blob
//   kInvalidArgument   the caller passed something wrong (a spec, a shape, a file)
//   kFailedPrecondition the call is not allowed now (not connected, async
//                      operations outstanding); do not retry as is
//   kPermissionDenied  authentication failed
//   kInternal          a bug in tern
//
// Thread-safety: Status and Result are values; distinct objects may be used
// from distinct threads, one object needs external synchronisation.
//
// Example:
//   tern::Result<Blob> Encode(...);
//   tern::Status Send(...) {
//     TERN_ASSIGN_OR_RETURN(Blob b, Encode(...));
//     TERN_RETURN_IF_ERROR(link.Write(b.bytes()));
//     return tern::OkStatus();
//   }
#ifndef TERN_STATUS_H_
#define TERN_STATUS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "tern/export.h"

namespace tern {

enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
};

// "OK", "INVALID_ARGUMENT", ... as gRPC spells them.
TERN_EXPORT std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] TERN_EXPORT Status {
 public:
  Status() noexcept = default;  // OK
  Status(StatusCode code, std::string_view message);
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&& other) noexcept = default;
  Status& operator=(Status&& other) noexcept = default;
  ~Status() = default;

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // Empty for OK.
  std::string_view message() const {
    return rep_ ? std::string_view(rep_->message) : std::string_view();
  }
  // "OK" or "UNAVAILABLE: recv from 127.0.0.1:4000: connection reset".
  std::string ToString() const;

  // Returns a copy whose message is "context: <old message>"; OK stays OK.
  Status WithContext(std::string_view context) const;

  // Explicitly ignores a status (for best-effort cleanup paths).
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::unique_ptr<Rep> rep_;
};

inline Status OkStatus() { return Status(); }
TERN_EXPORT Status CancelledError(std::string_view message);
TERN_EXPORT Status InvalidArgumentError(std::string_view message);
TERN_EXPORT Status DeadlineExceededError(std::string_view message);
TERN_EXPORT Status NotFoundError(std::string_view message);
TERN_EXPORT Status AlreadyExistsError(std::string_view message);
TERN_EXPORT Status PermissionDeniedError(std::string_view message);
TERN_EXPORT Status ResourceExhaustedError(std::string_view message);
TERN_EXPORT Status FailedPreconditionError(std::string_view message);
TERN_EXPORT Status AbortedError(std::string_view message);
TERN_EXPORT Status OutOfRangeError(std::string_view message);
TERN_EXPORT Status UnimplementedError(std::string_view message);
TERN_EXPORT Status InternalError(std::string_view message);
TERN_EXPORT Status UnavailableError(std::string_view message);
TERN_EXPORT Status DataLossError(std::string_view message);

// Result<T> holds a T or a non-OK Status. Accessing the value of an error
// result is a bug and aborts (TERN_CHECK semantics).
template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit from a value or from an error status, so functions can
  // `return value;` and `return InvalidArgumentError(...);`.
  Result(T value) : value_(std::move(value)) {}  // NOLINT
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status(StatusCode::kInternal, "Result from OK status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  T& value() & { CheckOk(); return *value_; }
  const T& value() const& { CheckOk(); return *value_; }
  T&& value() && { CheckOk(); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  void CheckOk() const;
  Status status_;
  std::optional<T> value_;
};

namespace internal {
[[noreturn]] TERN_EXPORT void DieOnBadResultAccess(const Status& status);
}  // namespace internal

template <typename T>
void Result<T>::CheckOk() const {
  if (!status_.ok()) internal::DieOnBadResultAccess(status_);
}

}  // namespace tern

#define TERN_STATUS_CONCAT_INNER_(a, b) a##b
#define TERN_STATUS_CONCAT_(a, b) TERN_STATUS_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function if it is not OK.
#define TERN_RETURN_IF_ERROR(expr)                    \
  do {                                                \
    ::tern::Status tern_status_ = (expr);             \
    if (!tern_status_.ok()) return tern_status_;      \
  } while (0)

// TERN_ASSIGN_OR_RETURN(T x, ResultExpr) declares/assigns x from the value of
// a Result, or returns its status from the enclosing function.
#define TERN_ASSIGN_OR_RETURN(lhs, expr) \
  TERN_ASSIGN_OR_RETURN_IMPL_(TERN_STATUS_CONCAT_(tern_result_, __LINE__), lhs, expr)
#define TERN_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                \
  if (!result.ok()) return std::move(result).status(); \
  lhs = std::move(result).value()

#endif  // TERN_STATUS_H_
