// A child process running another program (fork + execv) with stdout and stderr appended to a log file,
// in its own process group. The destructor stops a child still running (SIGTERM, then SIGKILL after 5 s).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace cfm {

class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  std::optional<int> poll();  // wait status once finished, without blocking
  int wait();                 // blocks until finished
  void terminate();           // SIGTERM, then SIGKILL after 5 s; waits
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// "exit code 3", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

}  // namespace cfm
