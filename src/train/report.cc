#include "train/report.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "train/report_plot.h"
#include "util/format.h"

namespace tern::train {
namespace {

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

const RunReport* Find(std::span<const RunReport> runs, const std::string& name) {
  for (const RunReport& r : runs)
    if (r.strategy == name) return &r;
  return nullptr;
}

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (f) f.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (f) f.close();
  if (!f) return InvalidArgumentError("cannot write " + path + ": " + std::strerror(errno));
  return OkStatus();
}

nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

Status ValidateRuns(std::span<const RunReport> runs) {
  if (runs.empty()) return InvalidArgumentError("a report needs at least one run");
  std::set<std::string> seen;
  for (const RunReport& r : runs) {
    if (!ValidName(r.strategy)) {
      return InvalidArgumentError("strategy name '" + r.strategy +
                                  "' must be 1-64 characters of [A-Za-z0-9_.+-]");
    }
    if (!seen.insert(r.strategy).second) return InvalidArgumentError("strategy '" + r.strategy + "' appears twice");
  }
  return OkStatus();
}

std::string SummaryMarkdown(std::span<const RunReport> runs, const std::string& baseline) {
  const RunReport* base = Find(runs, baseline);
  std::string out = "| strategy | final accuracy | bytes sent / worker | bytes vs " + baseline +
                    " | peak message | wall time |\n|---|---:|---:|---:|---:|---:|\n";
  for (const RunReport& r : runs) {
    std::string ratio = "-";
    if (&r == base) {
      ratio = "baseline";
    } else if (base != nullptr && base->bytes_per_worker > 0) {
      ratio = FewerBytes(static_cast<double>(base->bytes_per_worker),
                         static_cast<double>(r.bytes_per_worker));
    }
    out += "| " + r.strategy + " | " + Format("%.4f", r.test_accuracy) + " | " + HumanBytes(static_cast<double>(r.bytes_per_worker)) +
           " | " + ratio + " | " + HumanBytes(static_cast<double>(r.peak_message_bytes)) + " | " + Format("%.1f s", r.wall_seconds) +
           " |\n";
  }
  return out;
}

std::string SummaryJson(std::span<const RunReport> runs) {
  nlohmann::json list = nlohmann::json::array();
  for (const RunReport& r : runs) {
    nlohmann::json run = {{"strategy", r.strategy},
                          {"test_accuracy", Number(r.test_accuracy)},
                          {"bytes_per_worker", r.bytes_per_worker},
                          {"peak_message_bytes", r.peak_message_bytes},
                          {"wall_seconds", Number(r.wall_seconds)}};
    if (!r.config_json.empty()) {
      nlohmann::json config = nlohmann::json::parse(r.config_json, nullptr, false);
      run["config"] = config.is_discarded() ? nlohmann::json(r.config_json) : config;
    }
    if (!r.strategy_config.empty()) run["strategy_config"] = r.strategy_config;
    if (r.parity_checked) {
      run["parity"] = {{"ok", r.parity_ok},
                       {"state_identical", r.state_identical},
                       {"params_identical", r.params_identical},
                       {"workers_finished", r.workers_finished}};
    }
    list.push_back(std::move(run));
  }
  return nlohmann::json{{"runs", list}}.dump(2) + "\n";
}

std::string EvalsCsv(std::span<const RunReport> runs) {
  std::string out = "strategy,step,samples,wall_seconds,bytes_sent_per_worker,test_accuracy,test_loss\n";
  for (const RunReport& r : runs) {
    for (const EvalRecord& e : r.evals) {
      out += r.strategy + "," + std::to_string(e.step) + "," + std::to_string(e.samples) + "," +
             Format("%.6f", e.wall_seconds) + "," + std::to_string(e.bytes_sent_per_worker) + "," +
             Format("%.6f", e.test_accuracy) + "," + Format("%.6f", e.test_loss) + "\n";
    }
  }
  return out;
}

Status WriteSummaryJson(const std::string& path, std::span<const RunReport> runs) {
  TERN_RETURN_IF_ERROR(ValidateRuns(runs));
  return WriteFile(path, SummaryJson(runs));
}

Result<ReportFiles> WriteCompareReport(const std::string& dir, std::span<const RunReport> runs,
                                       const ReportOptions& options) {
  TERN_RETURN_IF_ERROR(ValidateRuns(runs));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InvalidArgumentError("cannot create " + dir + ": " + ec.message());
  ReportFiles files;
  files.csv = dir + "/evals.csv";
  files.markdown_path = dir + "/summary.md";
  files.json = dir + "/summary.json";
  files.markdown = SummaryMarkdown(runs, options.baseline);
  TERN_RETURN_IF_ERROR(WriteFile(files.csv, EvalsCsv(runs)));
  TERN_RETURN_IF_ERROR(WriteFile(files.markdown_path, files.markdown));
  TERN_RETURN_IF_ERROR(WriteFile(files.json, SummaryJson(runs)));
  if (!options.plots) return files;
  std::vector<std::string> names;
  for (const RunReport& r : runs) names.push_back(r.strategy);
  files.plot_bytes = dir + "/accuracy_vs_bytes.png";
  files.plot_time = dir + "/accuracy_vs_time.png";
  TERN_ASSIGN_OR_RETURN(files.plotter, DrawPlots(files.csv, names, files.plot_bytes, files.plot_time, options));
  return files;
}

}  // namespace tern::train
