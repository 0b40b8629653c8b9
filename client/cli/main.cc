// vidserve-cli: command-line client of the vidserve VideoService (see `--help`).
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/cli/arg_parser.h"
#include "client/cli/commands.h"
#include "media/video_file.h"

namespace vidserve::cli {
namespace {

const char kOverview[] =
    "vidserve-cli: talk to a vidserve server.\n"
    "\n"
    "usage: vidserve-cli [--server HOST:PORT] [--timeout_s S] [--quiet] COMMAND [flags]\n"
    "\n"
    "examples:\n"
    "  vidserve-cli generate --prompt \"a red circle moving right\" --frames 17 --out clip.y4m\n"
    "  vidserve-cli encode --in clip.y4m --out clip.latent\n"
    "  vidserve-cli decode --in clip.latent --decoder thin --out back.y4m\n"
    "  vidserve-cli info\n"
    "  vidserve-cli health\n";

const char kExitCodes[] =
    "exit codes:\n"
    "  0  success (health: the server is SERVING)\n"
    "  1  the server answered with an error status; its code and message are printed\n"
    "  2  invalid command line (unknown command or flag, bad value, missing flag)\n"
    "  3  cannot reach the server (connection failed or no answer before --timeout_s)\n"
    "  4  file error: an input is missing or invalid, or an output cannot be written\n"
    "  5  health: the server answered but is not SERVING\n";

std::vector<FlagSpec> GlobalFlags() {
  return {
      {"server", "HOST:PORT", "server address (default 127.0.0.1:50051)"},
      {"timeout-s", "S", "deadline of the call in seconds (default 300; also --timeout_s)"},
      {"quiet", "", "no progress output on stderr"},
  };
}

std::map<std::string, std::vector<FlagSpec>> CommandFlags() {
  const FlagSpec decoder{"decoder", "full|thin", "VAE decoder (default full)"};
  const FlagSpec chroma{"y4m-chroma", "444|420",
                        "chroma subsampling of .y4m output (default 444)"};
  return {
      {"generate",
       {{"prompt", "TEXT", "what to generate (required)"},
        {"out", "FILE", "output video, .y4m or .mp4 (required)"},
        {"frames", "N", "frames, 4k+1 (default: the model's)"},
        {"height", "PX", "height, multiple of 16 (default: the model's)"},
        {"width", "PX", "width, multiple of 16 (default: the model's)"},
        {"steps", "N", "denoise steps (default: the model's)"},
        {"guidance", "G", "classifier-free guidance scale, 1 = off (default: the model's)"},
        {"guidance-min-t", "T", "guide only steps starting at noise level t >= T (default: the model's)"},
        {"guidance-max-t", "T", "guide only steps starting at noise level t <= T (default: the model's)"},
        {"stochasticity", "E", "fresh noise per step, 0 = deterministic (default: the model's)"},
        {"seed", "N", "random seed (default: chosen by the server and printed)"},
        decoder,
        {"fps", "F", "frames per second of the output (default 24)"},
        {"frames-per-chunk", "N", "frames per streamed chunk (default 8)"},
        {"latent-out", "FILE", "also write the final latent to FILE.latent"},
        chroma}},
      {"encode",
       {{"in", "FILE", "input video, .y4m or .mp4 (required)"},
        {"out", "FILE", "output latent, .latent (required)"},
        {"dtype", "float32|float16", "latent element type (default float32)"}}},
      {"decode",
       {{"in", "FILE", "input latent, .latent (required)"},
        {"out", "FILE", "output video, .y4m or .mp4 (required)"},
        decoder,
        {"fps", "F", "frames per second (default: the one stored in the latent file)"},
        chroma}},
      {"info", {}},
      {"health", {{"service", "NAME", "service to check (default \"\": the whole server)"}}},
  };
}

const char* CommandSummary(const std::string& command) {
  if (command == "generate") return "text prompt -> video, with a progress bar";
  if (command == "encode") return "video file -> .latent file";
  if (command == "decode") return "latent file -> video file (full or thin decoder)";
  if (command == "info") return "model, preset, devices, mixers, limits, defaults, parameters";
  if (command == "health") return "grpc.health.v1 check: prints SERVING or NOT_SERVING";
  return "";
}

void PrintFlags(FILE* out, const std::vector<FlagSpec>& flags) {
  for (const FlagSpec& f : flags) {
    std::string left = absl::StrCat("--", f.name, f.value_name.empty() ? "" : " ", f.value_name);
    std::fprintf(out, "  %-28s %s\n", left.c_str(), f.help.c_str());
  }
}

void PrintHelp(FILE* out, const ArgParser& parser) {
  const std::string& command = parser.command();
  if (!command.empty()) {
    std::fprintf(out, "usage: vidserve-cli [global flags] %s [flags]\n  %s\n\n", command.c_str(),
                 CommandSummary(command));
    const auto& flags = parser.flags_by_command().at(command);
    if (!flags.empty()) {
      std::fprintf(out, "flags:\n");
      PrintFlags(out, flags);
      std::fprintf(out, "\n");
    }
    std::fprintf(out, "global flags:\n");
    PrintFlags(out, parser.global_flags());
    std::fprintf(out, "\n%s", kExitCodes);
    return;
  }
  std::fprintf(out, "%s\ncommands:\n", kOverview);
  for (const auto& [name, flags] : parser.flags_by_command()) {
    std::fprintf(out, "  %-10s %s\n", name.c_str(), CommandSummary(name));
  }
  std::fprintf(out, "\nglobal flags (before or after the command):\n");
  PrintFlags(out, parser.global_flags());
  std::fprintf(out, "\n'vidserve-cli COMMAND --help' lists the flags of COMMAND. "
                    "Video files: .y4m%s.\n\n%s",
               media::HaveMp4Support() ? " and .mp4" : " (.mp4 not compiled in)", kExitCodes);
}

int Main(int argc, char** argv) {
  ArgParser parser(GlobalFlags(), CommandFlags());
  CommonOptions common;
  try {
    parser.Parse(argc, argv);
    if (parser.help()) {
      PrintHelp(stdout, parser);
      return kExitOk;
    }
    common.server = parser.GetString("server", common.server);
    common.timeout_s = parser.GetDouble("timeout-s", 0.001, 1e7).value_or(common.timeout_s);
    common.quiet = parser.GetBool("quiet");
    const std::string& command = parser.command();
    if (command == "generate") return RunGenerate(common, parser);
    if (command == "encode") return RunEncode(common, parser);
    if (command == "decode") return RunDecode(common, parser);
    if (command == "info") return RunInfo(common, parser);
    if (command == "health") return RunHealth(common, parser);
    throw UsageError(absl::StrCat("unknown command '", command, "'"));
  } catch (const UsageError& e) {
    std::fprintf(stderr, "error: %s\n\n", e.what());
    PrintHelp(stderr, parser);
    return kExitUsage;
  }
}

}  // namespace
}  // namespace vidserve::cli

int main(int argc, char** argv) { return vidserve::cli::Main(argc, argv); }
