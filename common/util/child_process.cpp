#include "common/util/child_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "common/util/error.h"

namespace cfm {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) {
  int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(log_path, std::string("cannot open the log file: ") + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) {
    close(fd);
    throw Error(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid_ == 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    setpgid(0, 0);
    execvp(args[0], args.data());
    dprintf(2, "cfm: error: cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(fd);
}

ChildProcess::~ChildProcess() { terminate(); }

std::optional<int> ChildProcess::poll() {
  if (status_) return status_;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
  return status_;
}

int ChildProcess::wait() {
  if (!status_) {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = status;
  }
  return *status_;
}

void ChildProcess::terminate() {
  if (pid_ <= 0 || poll()) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100 && !poll(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!poll()) {
    kill(pid_, SIGKILL);
    wait();
  }
}

int run_program(const std::vector<std::string>& argv, const std::string& log_path) {
  ChildProcess child(argv, log_path);
  return child.wait();
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "ended abnormally";
}

}  // namespace cfm
