#include "codec/spec.h"

#include <charconv>
#include <cmath>
#include <string>

namespace tern::codec {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsValueChar(char c) { return IsNameChar(c) || c == '.' || c == '-' || c == '+'; }

// A recursive-descent parser over one spec string; `pos_` is the cursor.
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<ParsedSpec> Parse() {
    ParsedSpec out;
    TERN_ASSIGN_OR_RETURN(Stage first, ParseStage());
    if (Peek() == '(') {
      ++pos_;
      out.feedback = true;
      out.wrapper = std::move(first);
      TERN_RETURN_IF_ERROR(ParsePipeline(&out.stages));
      if (Peek() != ')') return Error("expected ')'");
      ++pos_;
    } else {
      out.stages.push_back(std::move(first));
      if (Peek() == '|') {
        ++pos_;
        TERN_RETURN_IF_ERROR(ParsePipeline(&out.stages));
      }
    }
    if (pos_ != s_.size()) return Error("unexpected character");
    return out;
  }

 private:
  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }

  Status Error(std::string_view what) const {
    return InvalidArgumentError("codec spec '" + std::string(s_) + "': " + std::string(what) +
                                " at position " + std::to_string(pos_));
  }

  Status ParsePipeline(std::vector<Stage>* stages) {
    while (true) {
      TERN_ASSIGN_OR_RETURN(Stage st, ParseStage());
      stages->push_back(std::move(st));
      if (Peek() != '|') return OkStatus();
      ++pos_;
    }
  }

  Result<std::string> ParseToken(bool value) {
    size_t begin = pos_;
    while (pos_ < s_.size() && (value ? IsValueChar(s_[pos_]) : IsNameChar(s_[pos_]))) ++pos_;
    if (pos_ == begin) return Error(value ? "expected a value" : "expected a name");
    return std::string(s_.substr(begin, pos_ - begin));
  }

  Result<Stage> ParseStage() {
    Stage st;
    TERN_ASSIGN_OR_RETURN(st.name, ParseToken(false));
    if (Peek() != ':') return st;
    ++pos_;
    while (true) {
      Param p;
      TERN_ASSIGN_OR_RETURN(p.key, ParseToken(false));
      if (Peek() != '=') return Error("expected '='");
      ++pos_;
      TERN_ASSIGN_OR_RETURN(p.value, ParseToken(true));
      for (const Param& q : st.params) {
        if (q.key == p.key) return Error("parameter '" + p.key + "' given twice");
      }
      st.params.push_back(std::move(p));
      if (Peek() != ',') return st;
      ++pos_;
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Result<ParsedSpec> ParseSpec(std::string_view spec) {
  while (!spec.empty() && (spec.front() == ' ' || spec.front() == '\t')) spec.remove_prefix(1);
  while (!spec.empty() && (spec.back() == ' ' || spec.back() == '\t' || spec.back() == '\n')) {
    spec.remove_suffix(1);
  }
  if (spec.empty()) return InvalidArgumentError("empty codec spec");
  if (spec.size() > kMaxSpecLength) {
    return InvalidArgumentError("codec spec longer than " + std::to_string(kMaxSpecLength));
  }
  return Parser(spec).Parse();
}

std::string FormatNumber(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "nan";
  return std::string(buf, end);
}

Result<double> ParseNumber(std::string_view s) {
  double v = 0;
  const char* begin = s.data();
  if (!s.empty() && s.front() == '+') ++begin;
  auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
    std::string msg(s);  // (gcc 12 misfires -Wrestrict on "'" + std::string)
    msg += " is not a finite number";
    return InvalidArgumentError(msg);
  }
  return v;
}

}  // namespace tern::codec
