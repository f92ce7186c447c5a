// How a `tern` subcommand plugs into the CLI.
//
// Each command lives in its own cmd_*.cc file and registers itself:
//
//   TERN_COMMAND(CodecEncode, "codec encode") {
//     auto opts = std::make_shared<EncodeOptions>();
//     CLI::App* cmd = AddCommand(root, {"codec", "encode"}, "Compress a tensor file",
//                                [opts] { return RunEncode(*opts); });
//     cmd->add_option("--spec", opts->spec, "codec spec")->required();
//   }
//
// The run function returns the process exit code: 0 on success, 1 when the
// work failed (after printing one line with Fail()), 2 for bad usage. The CLI
// stays a thin layer over the library: parse flags, call the API, print.
#ifndef TERN_TOOLS_TERN_COMMAND_H_
#define TERN_TOOLS_TERN_COMMAND_H_

#include <CLI/CLI.hpp>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "tern/status.h"

namespace tern::cli {

using RunFn = std::function<int()>;

// Adds `tern <path>` (intermediate groups such as "bench" are created once
// and shared) and returns the leaf so the caller can add flags. `run` is
// called if this leaf is the command the user chose.
CLI::App* AddCommand(CLI::App& root, std::initializer_list<std::string_view> path,
                     const std::string& description, RunFn run);

// Prints "tern: error: <status>" on one line and returns exit code 1.
int Fail(const Status& status);
int Fail(const std::string& message);

using RegisterFn = void (*)(CLI::App& root);
struct CommandRegistrar {
  CommandRegistrar(const char* sort_key, RegisterFn fn);
};

}  // namespace tern::cli

// Defines a registration function and registers it at static-init time.
// `key` orders commands in --help ("codec encode" before "train").
#define TERN_COMMAND(name, key)                                                       \
  static void TernRegister##name(CLI::App& root);                                    \
  static ::tern::cli::CommandRegistrar tern_registrar_##name(key, &TernRegister##name); \
  static void TernRegister##name(CLI::App& root)

#endif  // TERN_TOOLS_TERN_COMMAND_H_
