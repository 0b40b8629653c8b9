#include "tools/bench/bench_flags.h"

#include <cstdio>
#include <cstdlib>

namespace vidserve::bench {

bool BenchFlags::Parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      std::fprintf(stderr, "vidserve-bench: unexpected argument \"%s\"\n", arg.c_str());
      return false;
    }
    arg = arg.substr(2);
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      values_[arg.substr(0, eq)].push_back(arg.substr(eq + 1));
    } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      values_[arg].push_back(argv[++i]);
    } else {
      values_[arg].push_back("true");  // boolean switch
    }
  }
  return true;
}

std::string BenchFlags::String(const std::string& name, const std::string& fallback) {
  used_.insert(name);
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> BenchFlags::Strings(const std::string& name) {
  used_.insert(name);
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t BenchFlags::Int(const std::string& name, int64_t fallback) {
  const std::string text = String(name, "");
  if (text.empty()) return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0') {
    std::fprintf(stderr, "vidserve-bench: --%s expects an integer, got \"%s\"\n", name.c_str(), text.c_str());
    std::exit(2);
  }
  return value;
}

double BenchFlags::Double(const std::string& name, double fallback) {
  const std::string text = String(name, "");
  if (text.empty()) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0') {
    std::fprintf(stderr, "vidserve-bench: --%s expects a number, got \"%s\"\n", name.c_str(), text.c_str());
    std::exit(2);
  }
  return value;
}

std::set<std::string> BenchFlags::Unused() const {
  std::set<std::string> unused;
  for (const auto& [name, values] : values_) {
    if (!used_.count(name)) unused.insert(name);
  }
  return unused;
}

bool BenchFlags::CheckAllUsed(const std::string& command) const {
  const auto unused = Unused();
  for (const auto& name : unused) {
    std::fprintf(stderr, "vidserve-bench %s: unknown flag --%s\n", command.c_str(), name.c_str());
  }
  return unused.empty();
}

}  // namespace vidserve::bench
