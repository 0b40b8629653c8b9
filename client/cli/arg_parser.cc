#include "client/cli/arg_parser.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vidserve::cli {
namespace {

std::string Canonical(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

}  // namespace

ArgParser::ArgParser(std::vector<FlagSpec> global_flags,
                     std::map<std::string, std::vector<FlagSpec>> flags_by_command)
    : global_flags_(std::move(global_flags)), flags_by_command_(std::move(flags_by_command)) {}

const FlagSpec* ArgParser::Find(const std::string& name) const {
  for (const FlagSpec& f : global_flags_) {
    if (f.name == name) return &f;
  }
  auto it = flags_by_command_.find(command_);
  if (it == flags_by_command_.end()) return nullptr;
  for (const FlagSpec& f : it->second) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

void ArgParser::Parse(int argc, char** argv) {
  // Flags are checked once the command is known, since it may come after global flags.
  std::vector<std::pair<std::string, std::optional<std::string>>> raw;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help" || arg == "help") {
      help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) == 0 && arg.size() > 2) {
      std::string body = arg.substr(2);
      std::optional<std::string> value;
      const size_t eq = body.find('=');
      if (eq != std::string::npos) {
        value = body.substr(eq + 1);
        body = body.substr(0, eq);
      }
      const std::string name = Canonical(body);
      // Whether it takes a value is known only for flags of a known command; global
      // boolean flags and every command's booleans are listed here to consume correctly.
      bool is_bool = false;
      for (const FlagSpec& f : global_flags_) {
        if (f.name == name && f.value_name.empty()) is_bool = true;
      }
      for (const auto& [cmd, specs] : flags_by_command_) {
        for (const FlagSpec& f : specs) {
          if (f.name == name && f.value_name.empty()) is_bool = true;
        }
      }
      if (!value && !is_bool) {
        if (i + 1 >= argc) throw UsageError(absl::StrCat("flag --", name, " needs a value"));
        value = argv[++i];
      }
      raw.emplace_back(name, value);
      continue;
    }
    if (arg.rfind("-", 0) == 0 && arg.size() > 1) {
      throw UsageError(absl::StrCat("unknown option '", arg, "' (flags start with --)"));
    }
    if (!command_.empty()) {
      throw UsageError(absl::StrCat("unexpected argument '", arg, "' after command '",
                                    command_, "'"));
    }
    if (flags_by_command_.count(arg) == 0) {
      std::vector<std::string> names;
      for (const auto& [cmd, specs] : flags_by_command_) names.push_back(cmd);
      throw UsageError(absl::StrCat("unknown command '", arg, "' (commands: ",
                                    absl::StrJoin(names, ", "), ")"));
    }
    command_ = arg;
  }
  for (const auto& [name, value] : raw) {
    const FlagSpec* spec = Find(name);
    if (spec == nullptr) {
      throw UsageError(command_.empty()
                           ? absl::StrCat("unknown flag --", name)
                           : absl::StrCat("unknown flag --", name, " for '", command_, "'"));
    }
    if (spec->value_name.empty()) {
      const std::string v = value.value_or("true");
      if (v != "true" && v != "false") {
        throw UsageError(absl::StrCat("flag --", name, " is boolean (true|false), got '", v, "'"));
      }
      values_[name] = v;
    } else {
      values_[name] = *value;
    }
  }
  if (command_.empty() && !help_) throw UsageError("no command given");
}

bool ArgParser::Has(const std::string& name) const { return values_.count(name) > 0; }

std::string ArgParser::GetString(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string ArgParser::RequireString(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) {
    throw UsageError(absl::StrCat("'", command_, "' needs --", name));
  }
  return it->second;
}

std::optional<int64_t> ArgParser::GetInt(const std::string& name, int64_t min,
                                         int64_t max) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  int64_t v = 0;
  if (!absl::SimpleAtoi(it->second, &v)) {
    throw UsageError(absl::StrCat("invalid value for --", name, ": '", it->second,
                                  "' is not an integer"));
  }
  if (v < min || v > max) {
    throw UsageError(absl::StrCat("invalid value for --", name, ": ", v, " is outside [", min,
                                  ", ", max, "]"));
  }
  return v;
}

std::optional<uint64_t> ArgParser::GetUint64(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  uint64_t v = 0;
  if (it->second.empty() || it->second[0] == '-' || !absl::SimpleAtoi(it->second, &v)) {
    throw UsageError(absl::StrCat("invalid value for --", name, ": '", it->second,
                                  "' is not a non-negative integer"));
  }
  return v;
}

std::optional<double> ArgParser::GetDouble(const std::string& name, double min,
                                           double max) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  double v = 0;
  if (!absl::SimpleAtod(it->second, &v) || !std::isfinite(v)) {
    throw UsageError(absl::StrCat("invalid value for --", name, ": '", it->second,
                                  "' is not a number"));
  }
  if (v < min || v > max) {
    throw UsageError(absl::StrCat("invalid value for --", name, ": ", it->second,
                                  " is outside [", min, ", ", max, "]"));
  }
  return v;
}

bool ArgParser::GetBool(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && it->second == "true";
}

std::string ArgParser::GetChoice(const std::string& name, const std::vector<std::string>& choices,
                                 const std::string& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (std::find(choices.begin(), choices.end(), it->second) == choices.end()) {
    throw UsageError(absl::StrCat("invalid value for --", name, ": '", it->second,
                                  "' (choose one of: ", absl::StrJoin(choices, ", "), ")"));
  }
  return it->second;
}

}  // namespace vidserve::cli
