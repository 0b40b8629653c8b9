// The real `vidserve` binary: exit codes and signal handling, which an in-process server
// cannot show. Skipped when the binary has not been built.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_server.h"

namespace vidserve {
namespace {

using ::testing::HasSubstr;
using namespace vidserve::testing;  // NOLINT

const std::string kBinary = VIDSERVE_BINARY_DIR "/vidserve";

bool BinaryBuilt() { return access(kBinary.c_str(), X_OK) == 0; }

// Runs the binary with `args`, returns its exit code and puts stdout+stderr in `output`.
int RunBinary(const std::string& args, std::string* output) {
  FILE* pipe = popen((kBinary + " " + args + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output->append(buffer, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

TEST(VidserveBinary, InvalidConfigKeyExitsWith2NamingTheKey) {
  if (!BinaryBuilt()) GTEST_SKIP() << kBinary << " not built";
  const std::string path = ::testing::TempDir() + "/bad_vidserve.yaml";
  std::ofstream(path) << "scheduler:\n  max_batch_size: 0\n";
  std::string output;
  EXPECT_EQ(RunBinary("--config " + path, &output), 2);
  EXPECT_THAT(output, HasSubstr("scheduler.max_batch_size: must be in [1, 256], got 0"));
}

TEST(VidserveBinary, UnknownConfigKeyExitsWith2NamingTheKey) {
  if (!BinaryBuilt()) GTEST_SKIP() << kBinary << " not built";
  const std::string path = ::testing::TempDir() + "/unknown_vidserve.yaml";
  std::ofstream(path) << "model:\n  devcie: cpu\n";
  std::string output;
  EXPECT_EQ(RunBinary("--config " + path, &output), 2);
  EXPECT_THAT(output, HasSubstr("model.devcie: unknown key"));
}

TEST(VidserveBinary, InvalidFlagExitsWith2NamingTheKey) {
  if (!BinaryBuilt()) GTEST_SKIP() << kBinary << " not built";
  std::string output;
  EXPECT_EQ(RunBinary("--device tpu", &output), 2);
  EXPECT_THAT(output, HasSubstr("model.device"));
}

TEST(VidserveBinary, MissingPresetOrCheckpointExitsWith2NamingTheKey) {
  if (!BinaryBuilt()) GTEST_SKIP() << kBinary << " not built";
  std::string output;
  EXPECT_EQ(RunBinary("--preset no_such_preset --listen 127.0.0.1:0 --metrics_listen 127.0.0.1:0",
                      &output),
            2);
  EXPECT_THAT(output, HasSubstr("model.preset"));
  output.clear();
  EXPECT_EQ(RunBinary("--model /nonexistent/ckpt --listen 127.0.0.1:0 --metrics_listen 127.0.0.1:0",
                      &output),
            2);
  EXPECT_THAT(output, HasSubstr("model.dir"));
}

TEST(VidserveBinary, SigtermDrainsAndExitsZero) {
  if (!BinaryBuilt()) GTEST_SKIP() << kBinary << " not built";
  const int port = FreePort();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    execl(kBinary.c_str(), kBinary.c_str(), "--listen", listen.c_str(), "--metrics_listen",
          "127.0.0.1:0", "--device", "cpu", static_cast<char*>(nullptr));
    _exit(127);
  }
  bool serving = false;
  for (int i = 0; i < 600 && !serving; ++i) {
    serving = HealthStatus(port) == 1;
    if (!serving) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(serving) << "vidserve never reported SERVING on port " << port;
  auto stub = MakeStub(port);
  GenerateOutcome out = RunGenerate(stub.get(), SmallGenerate(2));
  EXPECT_TRUE(out.status.ok()) << out.status.error_message();

  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace vidserve
