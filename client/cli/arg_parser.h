// ArgParser: the command line of vidserve-cli, `vidserve-cli [global flags] COMMAND [flags]`.
//
// A small hand parser rather than absl flags because flags differ per subcommand and a
// wrong one must be reported against that subcommand. Rules:
//   * `--name value` and `--name=value`; `-` and `_` are interchangeable in names
//     (--latent-out == --latent_out); boolean flags take no value (or `=true|false`).
//   * Global flags (--server, --timeout_s, --quiet) may appear before or after the command.
//   * Every problem is a UsageError whose message is printed with the usage (exit 2).
#ifndef VIDSERVE_CLIENT_CLI_ARG_PARSER_H_
#define VIDSERVE_CLIENT_CLI_ARG_PARSER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace vidserve::cli {

// Thrown for invalid command lines; main() prints it with the usage and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FlagSpec {
  std::string name;  // canonical spelling, with '-' (e.g. "latent-out")
  std::string value_name;  // e.g. "N"; empty for boolean flags
  std::string help;
};

class ArgParser {
 public:
  // `flags_by_command` lists the flags each command accepts (global ones excluded).
  ArgParser(std::vector<FlagSpec> global_flags,
            std::map<std::string, std::vector<FlagSpec>> flags_by_command);

  // Parses argv; throws UsageError. After it, command() is set unless only --help was given.
  void Parse(int argc, char** argv);

  const std::string& command() const { return command_; }
  bool help() const { return help_; }
  bool Has(const std::string& name) const;

  // Typed accessors; the flag's value must parse completely or UsageError names the flag.
  std::string GetString(const std::string& name, const std::string& fallback = "") const;
  std::string RequireString(const std::string& name) const;
  std::optional<int64_t> GetInt(const std::string& name, int64_t min, int64_t max) const;
  std::optional<uint64_t> GetUint64(const std::string& name) const;
  std::optional<double> GetDouble(const std::string& name, double min, double max) const;
  bool GetBool(const std::string& name) const;
  // Value must be one of `choices`.
  std::string GetChoice(const std::string& name, const std::vector<std::string>& choices,
                        const std::string& fallback) const;

  const std::vector<FlagSpec>& global_flags() const { return global_flags_; }
  const std::map<std::string, std::vector<FlagSpec>>& flags_by_command() const {
    return flags_by_command_;
  }

 private:
  const FlagSpec* Find(const std::string& name) const;

  std::vector<FlagSpec> global_flags_;
  std::map<std::string, std::vector<FlagSpec>> flags_by_command_;
  std::string command_;
  bool help_ = false;
  std::map<std::string, std::string> values_;
};

}  // namespace vidserve::cli

#endif  // VIDSERVE_CLIENT_CLI_ARG_PARSER_H_
