#include "util/logging.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace tern {
namespace {

LogLevel LevelFromEnv() {
  const char* env = std::getenv("TERN_LOG_LEVEL");
  if (env == nullptr) return LogLevel::kWARNING;
  if (std::strcmp(env, "DEBUG") == 0) return LogLevel::kDEBUG;
  if (std::strcmp(env, "INFO") == 0) return LogLevel::kINFO;
  if (std::strcmp(env, "ERROR") == 0) return LogLevel::kERROR;
  return LogLevel::kWARNING;
}

std::atomic<int>& Level() {
  static std::atomic<int> level{static_cast<int>(LevelFromEnv())};
  return level;
}

std::mutex& PrefixMutex() {
  static std::mutex mu;
  return mu;
}
std::string& Prefix() {
  static std::string prefix;
  return prefix;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDEBUG: return "D";
    case LogLevel::kINFO: return "I";
    case LogLevel::kWARNING: return "W";
    case LogLevel::kERROR: return "E";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { Level().store(static_cast<int>(level)); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(Level().load()); }
void SetLogPrefix(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(PrefixMutex());
  Prefix() = prefix;
}

namespace internal {

LogMessage::LogMessage(LogLevel level, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch()).count();
  std::string prefix;
  {
    std::lock_guard<std::mutex> lock(PrefixMutex());
    prefix = Prefix();
  }
  stream_ << LevelName(level) << " " << (ms / 1000) % 100000 << "." << (ms % 1000) / 100
          << (prefix.empty() ? "" : " ") << prefix << " " << (base ? base + 1 : file) << ":"
          << line << "] ";
}

LogMessage::~LogMessage() {
  stream_ << '\n';
  std::string s = stream_.str();
  ssize_t unused = ::write(STDERR_FILENO, s.data(), s.size());
  (void)unused;
}

}  // namespace internal
}  // namespace tern
