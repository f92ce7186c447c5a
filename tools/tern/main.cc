// The `tern` command line. Every subcommand registers itself (command.h); this
// file builds the CLI11 tree, parses, and runs the chosen command.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "command.h"
#include "tern/version.h"

namespace tern::cli {
namespace {

struct Registered {
  std::string key;
  RegisterFn fn;
};
std::vector<Registered>& Registry() {
  static std::vector<Registered> r;
  return r;
}

struct Leaf {
  CLI::App* app;
  RunFn run;
};
std::vector<Leaf>& Leaves() {
  static std::vector<Leaf> l;
  return l;
}

const char* GroupDescription(std::string_view name) {
  if (name == "codec") return "Compress and decompress tensors with a codec spec";
  if (name == "bench") return "Benchmarks that print ratios against a baseline measured in the same run";
  if (name == "data") return "Inspect the data sets the trainer reads";
  return "";
}

}  // namespace

CommandRegistrar::CommandRegistrar(const char* sort_key, RegisterFn fn) {
  Registry().push_back({sort_key, fn});
}

CLI::App* AddCommand(CLI::App& root, std::initializer_list<std::string_view> path,
                     const std::string& description, RunFn run) {
  CLI::App* parent = &root;
  size_t i = 0;
  for (std::string_view part : path) {
    const bool leaf = ++i == path.size();
    std::string name(part);
    CLI::App* next = nullptr;
    for (CLI::App* sub : parent->get_subcommands([](CLI::App*) { return true; })) {
      if (sub->get_name() == name) next = sub;
    }
    if (next == nullptr) {
      next = parent->add_subcommand(name, leaf ? description : GroupDescription(name));
      if (!leaf) next->require_subcommand(1);
    }
    parent = next;
  }
  Leaves().push_back({parent, std::move(run)});
  return parent;
}

int Fail(const Status& status) { return Fail(status.ToString()); }

int Fail(const std::string& message) {
  std::fprintf(stderr, "tern: error: %s\n", message.c_str());
  return 1;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "tern: train models across machines joined by slow, unreliable networks.\n"
      "Run `tern <command> --help` for the options of a command."};
  app.set_version_flag("--version", std::string(VersionString()));
  app.require_subcommand(1);
  std::sort(Registry().begin(), Registry().end(),
            [](const Registered& a, const Registered& b) { return a.key < b.key; });
  for (const Registered& r : Registry()) r.fn(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and exit 0; every usage error exits 2 with
    // CLI11's one-line message (it uses its own codes, e.g. 105, otherwise).
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (Leaf& leaf : Leaves()) {
    if (leaf.app->parsed()) return leaf.run();
  }
  return Fail("no command chosen (see tern --help)");
}

}  // namespace tern::cli

int main(int argc, char** argv) { return tern::cli::Main(argc, argv); }
