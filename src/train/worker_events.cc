#include "train/worker_events.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>

#include <nlohmann/json.hpp>

#include "util/clock.h"

namespace tern::train {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(
    WorkerEvent, event, slot, rank, peer_id, world_size, revision, wall, step, local_steps, mark,
    loss, accuracy, samples, final, bytes_sent, bytes_received, peak_message_bytes, syncs,
    failures, fixed, state_bytes, seconds, joined, state_hash, params_hash, safe_points,
    eval_seconds, message, code)

std::string EventToJson(const WorkerEvent& e) {
  // Non-finite losses (a diverged run) are not JSON numbers: send null,
  // which reads back as the default.
  nlohmann::json j = e;
  for (const char* k : {"loss", "accuracy", "wall", "seconds", "eval_seconds"}) {
    if (!j[k].is_null() && !std::isfinite(j[k].get<double>())) j[k] = nullptr;
  }
  return j.dump();
}

Result<WorkerEvent> EventFromJson(const std::string& line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("event") || !j["event"].is_string()) {
    return DataLossError("not a worker event");
  }
  for (auto it = j.begin(); it != j.end();) {
    it = it->is_null() ? j.erase(it) : std::next(it);
  }
  try {  // a wrong type throws inside nlohmann; keep it here
    WorkerEvent e = j.get<WorkerEvent>();
    if (j.contains("loss") == false && (e.event == "step" || e.event == "eval")) {
      e.loss = std::numeric_limits<double>::quiet_NaN();
    }
    return e;
  } catch (const nlohmann::json::exception& ex) {
    return DataLossError(std::string("malformed worker event: ") + ex.what());
  }
}

void FdEventSink::Emit(const WorkerEvent& e) {
  std::string line = EventToJson(e) + "\n";
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the launcher went away; the worker finishes anyway
    off += static_cast<size_t>(n);
  }
}

void ConsoleEventSink::Emit(const WorkerEvent& e) {
  const double now = NowSeconds();
  if (e.event == "started") {
    std::printf("worker %d: rank %d of %d (peer %llu, revision %llu)\n", e.slot, e.rank,
                e.world_size, static_cast<unsigned long long>(e.peer_id),
                static_cast<unsigned long long>(e.revision));
  } else if (e.event == "safepoint") {
    std::printf("worker %d: safe point at step %lld: revision %llu, %d members, %d entries fixed%s\n",
                e.slot, static_cast<long long>(e.step), static_cast<unsigned long long>(e.revision),
                e.world_size, e.fixed, e.joined ? " (joined)" : "");
  } else if (e.event == "eval") {
    std::printf("worker %d: step %lld  test accuracy %.4f  loss %.4f  sent %.3f MB  %.1f s%s\n",
                e.slot, static_cast<long long>(e.step), e.accuracy, e.loss, e.bytes_sent / 1e6,
                e.wall, e.final ? "  (final)" : "");
  } else if (e.event == "step" && (last_print_ < 0 || now - last_print_ >= 5.0)) {
    last_print_ = now;
    std::printf("worker %d: step %lld  loss %.4f  sent %.3f MB  %.1f s\n", e.slot,
                static_cast<long long>(e.step), e.loss, e.bytes_sent / 1e6, e.wall);
  } else if (e.event == "error") {
    std::printf("worker %d: error: %s\n", e.slot, e.message.c_str());
  }
  std::fflush(stdout);
}

}  // namespace tern::train
