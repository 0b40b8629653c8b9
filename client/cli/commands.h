// The vidserve-cli subcommands. Each returns a process exit code (see ExitCode) and prints
// its own errors on stderr; results go to stdout and files.
#ifndef VIDSERVE_CLIENT_CLI_COMMANDS_H_
#define VIDSERVE_CLIENT_CLI_COMMANDS_H_

#include <string>

#include "client/cli/arg_parser.h"

namespace vidserve::cli {

// Documented in `vidserve-cli --help`; scripts may rely on them.
enum ExitCode : int {
  kExitOk = 0,
  kExitServerError = 1,   // the server answered with an error status (code and message printed)
  kExitUsage = 2,         // invalid command line (message and usage printed)
  kExitUnreachable = 3,   // cannot connect to --server (or no answer before the deadline)
  kExitFileError = 4,     // an input file is unreadable/invalid or an output cannot be written
  kExitNotServing = 5,    // `health`: the server answered, but is not SERVING
};

struct CommonOptions {
  std::string server = "127.0.0.1:50051";
  double timeout_s = 300;
  bool quiet = false;
};

int RunGenerate(const CommonOptions& common, const ArgParser& args);
int RunEncode(const CommonOptions& common, const ArgParser& args);
int RunDecode(const CommonOptions& common, const ArgParser& args);
int RunInfo(const CommonOptions& common, const ArgParser& args);
int RunHealth(const CommonOptions& common, const ArgParser& args);

}  // namespace vidserve::cli

#endif  // VIDSERVE_CLIENT_CLI_COMMANDS_H_
