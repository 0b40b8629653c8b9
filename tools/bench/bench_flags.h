// A minimal `--name value` / `--name=value` parser for the bench subcommands (each has its
// own flag set, which absl's global flags would make collide inside one binary).
// Not thread-safe; used once at start-up.
#ifndef VIDSERVE_TOOLS_BENCH_BENCH_FLAGS_H_
#define VIDSERVE_TOOLS_BENCH_BENCH_FLAGS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace vidserve::bench {

class BenchFlags {
 public:
  // argv[0] is the subcommand name. Returns false (and prints why) on a malformed flag.
  bool Parse(int argc, char** argv);

  // A flag given more than once reads as its last value, except through Strings().
  std::string String(const std::string& name, const std::string& fallback);
  // Every value of a repeatable flag (`--checkpoint a --checkpoint b`), in order; empty
  // when absent.
  std::vector<std::string> Strings(const std::string& name);
  int64_t Int(const std::string& name, int64_t fallback);
  double Double(const std::string& name, double fallback);
  bool Has(const std::string& name) const { return values_.count(name) > 0; }

  // Names given on the command line that no accessor asked for; call after reading all.
  std::set<std::string> Unused() const;
  // Prints "unknown flag" errors for Unused(); returns true if there were none.
  bool CheckAllUsed(const std::string& command) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> used_;
};

}  // namespace vidserve::bench

#endif  // VIDSERVE_TOOLS_BENCH_BENCH_FLAGS_H_
