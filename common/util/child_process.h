// A child process running another program (fork + execvp: a name without a slash is looked up in PATH;
// no shell, so arguments need no quoting) with stdout and stderr appended to a log file, in its own process
// group. The destructor stops a child still running (SIGTERM, then SIGKILL after 5 s). A program that
// cannot be started exits 127 after writing why to the log.
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

// Runs a program to its end (as a ChildProcess); returns its wait status.
int run_program(const std::vector<std::string>& argv, const std::string& log_path);

// "exit code 3", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

}  // namespace cfm
