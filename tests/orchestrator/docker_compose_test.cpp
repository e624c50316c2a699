// docker-compose.yml and the Dockerfile cannot run here (no Docker engine): check the compose model (every
// command a valid `cfm` invocation: CFM_CHECK_ARGS=1 parses a command line without running it; each job
// slot its own GPU; no restart loop; a healthy coordinator first) and the Dockerfile's shape (CPU and GPU
// targets, packages before the sources, a non-root user), plus `docker compose config` where it exists.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>

#include "test_support.h"

namespace cfm {
namespace {

// The devices compose puts in the worker's command when .env sets CFM_DEVICES (its ${VAR:-default} form).
const char* kDevicesFromEnv = "cuda:0,cuda:1,cuda:2,cuda:3";

std::string interpolated(const std::string& argument, const std::string& devices) {
  return std::regex_replace(argument, std::regex(R"(\$\{CFM_DEVICES:-[^}]*\})"), devices);
}

// `command` from its entry `first` on is cfm's arguments ("" when cfm accepts them, else why not).
std::string check_args(const YAML::Node& command, std::size_t first = 1) {
  std::string line = "CFM_CHECK_ARGS=1 " + std::string(CFM_BINARY);
  for (std::size_t i = first; i < command.size(); ++i)
    line += " '" + interpolated(command[i].as<std::string>(), kDevicesFromEnv) + "'";
  auto r = test::run_command(line);
  return r.exit_code == 0 ? "" : line + "\n" + r.output;
}

std::string flag(const YAML::Node& command, const std::string& name) {
  for (std::size_t i = 0; i + 1 < command.size(); ++i)
    if (command[i].as<std::string>() == name) return command[i + 1].as<std::string>();
  return "";
}

bool has(const YAML::Node& list, const std::string& value) {
  for (const auto& item : list)
    if (item.as<std::string>() == value) return true;
  return false;
}

TEST(DockerCompose, CoordinatorAndGpuWorkersShareResultsAndAToken) {
  YAML::Node compose = YAML::LoadFile(std::string(CFM_SOURCE_DIR) + "/docker-compose.yml");
  YAML::Node coordinator = compose["services"]["coordinator"], worker = compose["services"]["worker"];
  ASSERT_TRUE(coordinator && worker);
  for (const YAML::Node& service : {coordinator, worker}) {
    EXPECT_EQ(service["command"][0].as<std::string>(), "cfm");
    EXPECT_EQ(check_args(service["command"]), "");
    EXPECT_TRUE(has(service["volumes"], "runs:/runs"));
    EXPECT_TRUE(has(service["secrets"], "cfm_token"));
    EXPECT_EQ(flag(service["command"], "--token-file"), "/run/secrets/cfm_token");
  }
  EXPECT_EQ(coordinator["command"][1].as<std::string>(), "serve");
  EXPECT_EQ(worker["command"][1].as<std::string>(), "worker");
  EXPECT_EQ(flag(coordinator["command"], "--db").rfind("/runs/", 0), 0u);
  // The workers reach the coordinator by its service name on the port it listens on.
  std::string listen = flag(coordinator["command"], "--listen"),
              target = flag(worker["command"], "--coordinator");
  EXPECT_EQ(target, "coordinator:" + listen.substr(listen.rfind(':') + 1));
  EXPECT_TRUE(compose["volumes"]["runs"]);
  EXPECT_TRUE(compose["secrets"]["cfm_token"]["file"]);
  EXPECT_EQ(coordinator["image"].as<std::string>(), "cfm:cpu");
  EXPECT_EQ(coordinator["build"]["target"].as<std::string>(), "cpu");
  EXPECT_EQ(worker["image"].as<std::string>(), "cfm:gpu");
  EXPECT_EQ(worker["build"]["target"].as<std::string>(), "gpu");
}

// `--scale worker=N` with `count: 1` put every worker on GPU 0. Now one worker sees all of the host's GPUs
// and runs one slot per listed device: no two slots may name the same GPU, with the default or with .env.
TEST(DockerCompose, EachJobSlotGetsAGpuOfItsOwn) {
  YAML::Node compose = YAML::LoadFile(std::string(CFM_SOURCE_DIR) + "/docker-compose.yml");
  YAML::Node worker = compose["services"]["worker"];
  YAML::Node device = worker["deploy"]["resources"]["reservations"]["devices"][0];
  EXPECT_EQ(device["driver"].as<std::string>(), "nvidia");
  EXPECT_TRUE(has(device["capabilities"], "gpu"));
  EXPECT_EQ(device["count"].as<std::string>(), "all");
  EXPECT_FALSE(device["device_ids"]);
  EXPECT_FALSE(worker["deploy"]["replicas"]);
  for (const std::string& devices : {std::string("cuda:0"), std::string(kDevicesFromEnv)}) {
    std::string list = interpolated(flag(worker["command"], "--devices"), devices);
    EXPECT_EQ(list, devices);
    std::set<std::string> distinct;
    std::size_t slots = 0;
    for (std::size_t start = 0; start <= list.size(); ++slots) {
      std::size_t comma = std::min(list.find(',', start), list.size());
      std::string entry = list.substr(start, comma - start);
      EXPECT_EQ(entry.rfind("cuda:", 0), 0u) << entry;
      distinct.insert(entry);
      start = comma + 1;
    }
    EXPECT_EQ(distinct.size(), slots) << list;
  }
}

// A worker refused for its token exits 1; "always"/"unless-stopped" would restart it for ever.
TEST(DockerCompose, NoRestartLoopAndWorkersWaitForAHealthyCoordinator) {
  YAML::Node compose = YAML::LoadFile(std::string(CFM_SOURCE_DIR) + "/docker-compose.yml");
  for (const char* name : {"coordinator", "worker"}) {
    std::string restart = compose["services"][name]["restart"].as<std::string>();
    EXPECT_TRUE(std::regex_match(restart, std::regex("no|on-failure:[1-9][0-9]?")))
        << name << ": " << restart;
  }
  YAML::Node health = compose["services"]["coordinator"]["healthcheck"]["test"];
  ASSERT_TRUE(health);
  EXPECT_EQ(health[0].as<std::string>(), "CMD");
  EXPECT_EQ(health[1].as<std::string>(), "cfm");
  EXPECT_EQ(check_args(health, 2), "");
  EXPECT_EQ(compose["services"]["worker"]["depends_on"]["coordinator"]["condition"].as<std::string>(),
            "service_healthy");
  EXPECT_EQ(compose["services"]["worker"]["stop_signal"].as<std::string>(), "SIGTERM");
}

std::string file_text(const std::string& name) {
  std::ifstream in(std::string(CFM_SOURCE_DIR) + "/" + name);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Two targets, each a build stage and a runtime stage; packages installed before the sources come in (an
// edit does not reinstall them); the runtime runs as a user of its own; the context leaves out what the
// image must not hold.
TEST(Dockerfile, CpuAndGpuTargetsBuildBeforeTheSourcesAndRunAsAUser) {
  std::string dockerfile = file_text("Dockerfile");
  for (const char* stage :
       {"FROM debian:12 AS cpu-build", "FROM debian:13 AS gpu-build", "AS cpu\n", "AS gpu\n"})
    EXPECT_NE(dockerfile.find(stage), std::string::npos) << stage;
  for (const char* build : {"AS cpu-build", "AS gpu-build"}) {
    std::size_t stage = dockerfile.find(build);
    std::size_t setup = dockerfile.find("setup.sh --build-only", stage);
    std::size_t sources = dockerfile.find("COPY . /src", stage);
    ASSERT_NE(sources, std::string::npos) << build;
    EXPECT_LT(setup, sources) << build << ": packages after the sources";
  }
  EXPECT_NE(dockerfile.find("--build-only --cuda"), std::string::npos);
  EXPECT_NE(dockerfile.find("-DCFM_WITH_CUDA=ON"), std::string::npos);
  // Both runtime stages end as the user cfm.
  for (const char* runtime : {"AS cpu\n", "AS gpu\n"}) {
    std::size_t stage = dockerfile.find(runtime);
    std::size_t next = dockerfile.find("\nFROM ", stage);
    std::string body = dockerfile.substr(stage, next == std::string::npos ? std::string::npos : next - stage);
    EXPECT_NE(body.find("useradd"), std::string::npos) << runtime;
    EXPECT_NE(body.find("\nUSER cfm\n"), std::string::npos) << runtime;
    EXPECT_NE(body.find("$(cat /tmp/runtime-packages)"), std::string::npos) << runtime;
  }
  std::string ignored = file_text(".dockerignore");
  for (const char* entry :
       {".git\n", "build*\n", "runs\n", "data\n", "secrets\n", "datasets\n", "checkpoints\n"})
    EXPECT_NE(ignored.find(entry), std::string::npos) << entry;
}

// Where Docker Compose exists, its own parser must accept the file (with the token file it names).
TEST(DockerCompose, ComposeAcceptsTheFileWhereItIsInstalled) {
  if (test::run_command("docker compose version").exit_code != 0)
    GTEST_SKIP() << "no Docker Compose here: the checks above stand in for it";
  auto r = test::run_command(
      "cd " + std::string(CFM_SOURCE_DIR) +
      " && CFM_DEVICES=cuda:0,cuda:1 docker compose -f docker-compose.yml config --no-interpolate -q");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(DockerCompose, CheckArgsRejectsABadInvocation) {
  auto bad = test::run_command("CFM_CHECK_ARGS=1 " + std::string(CFM_BINARY) +
                               " worker --coordinator x:1 --no-such-flag");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  auto missing =
      test::run_command("CFM_CHECK_ARGS=1 " + std::string(CFM_BINARY) + " serve --listen 0.0.0.0:1");
  EXPECT_EQ(missing.exit_code, 2) << missing.output;  // --db and --token-file are required
  auto submit = test::run_command("CFM_CHECK_ARGS=1 " + std::string(CFM_BINARY) +
                                  " submit /experiments/mvtec3d_full.yaml --coordinator coordinator:7733 "
                                  "--token-file /run/secrets/cfm_token");
  EXPECT_EQ(submit.exit_code, 0) << submit.output;  // the command in the file's usage notes
}

}  // namespace
}  // namespace cfm
