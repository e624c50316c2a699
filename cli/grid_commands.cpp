// Commands that drive grids: run (all local), serve (coordinator), worker, submit, status, and the
// internal `job` command each worker runs per job.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <sstream>
#include <thread>

#include "commands.h"
#include "common/grid/grid_spec.h"
#include "common/methods/job_executor.h"
#include "common/net/client.h"
#include "common/net/host_address.h"
#include "common/net/messages.h"
#include "common/net/token_file.h"
#include "common/runtime/compute_device.h"
#include "common/store/sqlite.h"
#include "common/util/host_name.h"
#include "common/util/whole_file.h"
#include "orchestrator/coordinator.h"
#include "orchestrator/local_run.h"
#include "orchestrator/slurm_launcher.h"
#include "rank_options.h"
#include "results/grid_summary.h"
#include "worker/worker.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace cfm::cli {
namespace {

std::string self_executable() {
  std::error_code error;
  fs::path p = fs::read_symlink("/proc/self/exe", error);
  if (error) throw Error("cannot locate the cfm executable (/proc/self/exe): " + error.message());
  return p.string();
}

std::string default_name() { return fmt::format("{}-{}", host_name(), getpid()); }

json submit_message(const Grid& grid, bool force) {
  return net::Submit{grid.name, grid.yaml, grid.jobs, grid.max_attempts, force}.to_json();
}

// "cpu,cuda:0,cuda:1": the device slots of a worker (or of `cfm run`'s local workers).
std::vector<std::string> parse_device_list(const std::string& text) {
  std::vector<std::string> devices;
  std::stringstream list(text);
  for (std::string d; std::getline(list, d, ',');)
    if (!d.empty()) devices.push_back(parse_device_name(d).str());
  if (devices.empty()) throw UsageError("no device in '" + text + "'");
  return devices;
}

std::atomic<Coordinator*> g_serving{nullptr};
void stop_serving(int) {
  if (Coordinator* c = g_serving.load()) c->stop();
}

void add_run(CLI::App& app) {
  struct Flags {
    std::string grid, db, runs, cache, devices;
    int workers = 2;
    bool force = false, no_progress = false, allow_network_fs = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run a whole experiment grid on this machine (embedded coordinator + local workers)");
  cmd->add_option("grid", f->grid, "Grid YAML (see experiments/)")->required();
  cmd->add_option("--db", f->db, "Results database (default runs/<grid>.sqlite)");
  cmd->add_option("--runs", f->runs, "Run folders (default runs/<grid>/runs)");
  cmd->add_option("--cache", f->cache, "Feature cache shared by the jobs (default <runs>/feature-cache)");
  cmd->add_option("--workers", f->workers,
                  "CPU devices: one local worker (one job at a time) per devices_per_job of them")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--devices", f->devices,
                  "One local worker per slot instead, e.g. cuda:0,cuda:1 (a CUDA build)")
      ->excludes("--workers");
  cmd->add_flag("--force", f->force, "Run again jobs that succeeded before");
  cmd->add_flag("--no-progress", f->no_progress, "Do not draw the progress bar");
  cmd->add_flag("--allow-network-fs", f->allow_network_fs,
                "Use a --db on a network file system (NFS, Lustre, ...: refused by default)");
  cmd->callback([f] {
    Grid grid = load_grid(f->grid);
    LocalRunOptions o;
    o.db_path = f->db.empty() ? fmt::format("runs/{}.sqlite", grid.name) : f->db;
    o.runs_root = fs::absolute(f->runs.empty() ? fmt::format("runs/{}/runs", grid.name) : f->runs).string();
    o.cache_dir = f->cache.empty() ? "" : fs::absolute(f->cache).string();
    o.cfm_binary = self_executable();
    o.allow_network_fs = f->allow_network_fs;
    // CPU devices: more than the jobs can use would only start idle workers.
    o.workers = std::min<int>(f->workers, static_cast<int>(grid.jobs.size()) * largest_devices_per_job(grid));
    if (!f->devices.empty()) o.devices = parse_device_list(f->devices);
    o.force = f->force;
    o.progress = !f->no_progress;
    spdlog::set_level(spdlog::level::err);  // the embedded coordinator's log would interleave with the bar
    StateCounts counts = run_grid_locally(grid, o);
    Database db(o.db_path);
    fmt::print("{}", grid_summary_table(db, grid.name));
    std::string failures = grid_failures(db, grid.name);
    fmt::print("{} succeeded, {} failed; database {}\n{}", counts.succeeded, counts.failed, o.db_path,
               failures);
    if (counts.failed) exit_code() = 1;
  });
}

void add_serve(CLI::App& app) {
  auto o = std::make_shared<CoordinatorOptions>();
  auto listen = std::make_shared<std::string>("127.0.0.1:7733");
  auto token_file = std::make_shared<std::string>();
  auto port_file = std::make_shared<std::string>();
  auto address_file = std::make_shared<std::string>();
  CLI::App* cmd =
      app.add_subcommand("serve", "Run the coordinator: owns the results database and hands jobs to workers");
  cmd->add_option("--db", o->db_path, "Results database (SQLite; created if missing)")->required();
  cmd->add_option("--listen", *listen,
                  "HOST:PORT to listen on (0.0.0.0:7733 for every interface: use a private network)")
      ->capture_default_str();
  cmd->add_option("--token-file", *token_file, "File holding the shared secret token")->required();
  cmd->add_option("--runs", o->runs_root, "Run folders, shared with the workers (default: <db folder>/runs)");
  cmd->add_option("--lease-seconds", o->lease_seconds, "A job without heartbeats for this long is requeued")
      ->capture_default_str();
  cmd->add_option("--port-file", *port_file, "Write the port listened on here (useful with port 0)");
  cmd->add_option("--address-file", *address_file,
                  "Write HOST:PORT here as other machines reach it (for 0.0.0.0: this machine's first "
                  "non-loopback address), e.g. for `cfm launch slurm --coordinator $(cat FILE)`");
  cmd->add_flag("--allow-network-fs", o->allow_network_fs,
                "Serve a --db on a network file system (NFS, Lustre, ...: refused by default)");
  cmd->add_option("--handshake-seconds", o->handshake_seconds,
                  "A connection that has not finished the TLS handshake and hello is closed after this long")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--idle-seconds", o->idle_seconds,
                  "An authenticated connection without a message for this long is closed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-unauthenticated", o->max_unauthenticated,
                  "Connections before hello kept at once (the oldest goes first)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->callback([o, listen, token_file, port_file, address_file] {
    net::Endpoint e = net::parse_endpoint(*listen);
    o->host = e.host;
    o->port = e.port;
    o->token = net::read_token_file(*token_file);
    if (o->runs_root.empty()) o->runs_root = (fs::absolute(o->db_path).parent_path() / "runs").string();
    Coordinator coordinator(*o);
    if (!port_file->empty()) {
      write_whole_file(*port_file, std::to_string(coordinator.port()) + "\n");
    }
    if (!address_file->empty()) {
      const std::string host = net::reachable_host(o->host);
      if (net::is_loopback_host(host))
        spdlog::warn("listening on {}: only this machine reaches it (--listen 0.0.0.0:PORT for the others)",
                     host);
      write_whole_file(*address_file, fmt::format("{}:{}\n", host, coordinator.port()));
    }
    g_serving = &coordinator;
    std::signal(SIGTERM, stop_serving);
    std::signal(SIGINT, stop_serving);
    spdlog::info("coordinator on {}:{} (database {}, runs {})", o->host, coordinator.port(), o->db_path,
                 o->runs_root);
    coordinator.run();
    g_serving = nullptr;
    spdlog::info("coordinator stopped");
  });
}

void add_worker(CLI::App& app) {
  auto o = std::make_shared<WorkerOptions>();
  auto coordinator = std::make_shared<std::string>();
  auto token_file = std::make_shared<std::string>();
  auto devices = std::make_shared<std::string>("cpu");
  CLI::App* cmd = app.add_subcommand("worker", "Run jobs from a coordinator, one per device slot");
  cmd->add_option("--coordinator", *coordinator, "HOST:PORT of `cfm serve`")->required();
  cmd->add_option("--token-file", *token_file, "File holding the shared secret token")->required();
  cmd->add_option("--devices", *devices,
                  "Comma-separated slots: cpu, cuda:0, cuda:1, ... (a device may repeat)")
      ->capture_default_str();
  cmd->add_option("--devices-per-job", o->devices_per_job,
                  "Devices per slot: the devices split into slots of this many; a slot runs jobs needing up "
                  "to this many devices (devices_per_job) as that many ranks")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--name", o->name, "Worker name in the database (default <host>-<pid>)");
  cmd->add_option("--cache", o->cache_dir, "Feature cache folder for the jobs");
  cmd->add_option("--sharing-processes", o->sharing_processes,
                  "Job processes running on this machine's cores at once, other workers' included (default: "
                  "this worker's devices); jobs with threads: 0 compute with their share")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--runs", o->folders.runs, "Refuse jobs whose run folder is not inside this folder");
  cmd->add_option("--inputs", o->folders.inputs,
                  "Refuse jobs whose datasets or weights are outside these folders")
      ->delimiter(',');
  cmd->add_flag("--exit-when-done", o->exit_when_done,
                "Exit once the coordinator has no pending or running job");
  cmd->add_option("--give-up", o->give_up_seconds,
                  "Exit when the coordinator stays unreachable this many seconds (0 = never)");
  cmd->add_option(
         "--idle-exit", o->idle_exit_seconds,
         "A slot offered no job for this many seconds ends; the worker exits when all have (0 = never)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--retire-after-failures", o->retire_after_failures,
                  "A slot stops leasing once this many different jobs failed on it in a row: a broken device "
                  "or node (0 = never)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([o, coordinator, token_file, devices] {
    o->coordinator = net::parse_endpoint(*coordinator);
    o->token = net::read_token_file(*token_file);
    o->devices = parse_device_list(*devices);
    if (o->name.empty()) o->name = default_name();
    o->cfm_binary = self_executable();
    exit_code() = run_worker(*o);
  });
}

void add_token(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* token = app.add_subcommand("token", "Shared-secret tokens for a cluster");
  token->require_subcommand(1);
  CLI::App* cmd =
      token->add_subcommand("new", "Write a fresh random token (32 bytes, hex) to a new file with mode 0600");
  cmd->add_option("file", *path, "Token file to create")->required();
  cmd->add_flag("--force", *force, "Replace the file if it exists");
  cmd->callback([=] {
    net::write_new_token_file(*path, *force);
    fmt::print("token written to {} (mode 0600); give it to the coordinator and every worker\n", *path);
  });
}

void add_submit_status(CLI::App& app) {
  auto coordinator = std::make_shared<std::string>();
  auto token_file = std::make_shared<std::string>();
  auto grid_path = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* submit = app.add_subcommand("submit", "Add a grid's jobs to a running coordinator");
  submit->add_option("grid", *grid_path, "Grid YAML")->required();
  submit->add_option("--coordinator", *coordinator, "HOST:PORT of `cfm serve`")->required();
  submit->add_option("--token-file", *token_file, "File holding the shared secret token")->required();
  submit->add_flag("--force", *force, "Run again jobs that succeeded before");
  submit->callback([=] {
    Grid grid = load_grid(*grid_path);
    net::Client client(net::parse_endpoint(*coordinator), net::read_token_file(*token_file),
                       "submit-" + default_name());
    net::Submitted r = net::Submitted::parse(client.request(submit_message(grid, *force)));
    fmt::print("grid '{}': {} jobs ({} new, {} requeued, {} done before, {} already queued)\n", grid.name,
               grid.jobs.size(), r.added, r.requeued, r.already_done, r.in_queue);
  });

  auto status_coordinator = std::make_shared<std::string>();
  auto status_token = std::make_shared<std::string>();
  auto db = std::make_shared<std::string>();
  auto grid = std::make_shared<std::string>();
  CLI::App* status =
      app.add_subcommand("status", "Job counts per state, from a coordinator or straight from a database");
  status->add_option("--coordinator", *status_coordinator, "HOST:PORT of `cfm serve`");
  status->add_option("--token-file", *status_token, "Token file (with --coordinator)");
  status->add_option("--db", *db, "Read a results database instead");
  status->add_option("--grid", *grid, "Only this grid");
  status->callback([=] {
    if (db->empty() == status_coordinator->empty())
      throw UsageError("give either --coordinator (with --token-file) or --db");
    net::StatusReply c;
    if (!db->empty()) {
      if (!fs::exists(*db)) throw FileError(*db, "no such results database");
      JobStore store(*db, JobStore::Access::ReadOnly);
      StateCounts s = store.counts(*grid);
      c = {s.pending, s.leased, s.running, s.succeeded, s.failed, store.grids()};
    } else {
      if (status_token->empty()) throw UsageError("--coordinator needs --token-file");
      net::Client client(net::parse_endpoint(*status_coordinator), net::read_token_file(*status_token),
                         "status-" + default_name());
      c = net::StatusReply::parse(client.request(net::StatusRequest{*grid}.to_json()));
    }
    fmt::print("{} pending, {} leased, {} running, {} succeeded, {} failed (grids: {})\n", c.pending,
               c.leased, c.running, c.succeeded, c.failed, fmt::join(c.grids, ", "));
  });
}

void add_job(CLI::App& app) {
  auto config_path = std::make_shared<std::string>();
  auto result_path = std::make_shared<std::string>();
  auto context = std::make_shared<JobContext>();
  CLI::App* cmd =
      app.add_subcommand("job", "Run one resolved job configuration (what workers run for each job)");
  cmd->add_option("--config", *config_path, "Resolved job configuration (JSON)")->required();
  cmd->add_option("--run-dir", context->run_dir, "Artifacts folder")->required();
  cmd->add_option("--result", *result_path, "Where to write the result JSON")->required();
  cmd->add_option("--device", context->device, "cpu or cuda:N")->capture_default_str();
  cmd->add_option("--attempt", context->attempt, "Attempt number")->capture_default_str();
  cmd->add_option("--cache", context->cache_dir, "Feature cache folder");
  cmd->add_option("--sharing-processes", context->sharing_processes,
                  "Job processes running at once on this machine's cores (set by the worker; with the "
                  "setting threads: 0 each computes with its share)")
      ->check(CLI::PositiveNumber);
  add_rank_options(cmd, context->ranks);
  cmd->callback([=] {
    json config = json::parse(read_whole_file(*config_path, "the job configuration"), nullptr, false);
    if (config.is_discarded() || !config.is_object()) throw FormatError(*config_path, "not a JSON object");
    fmt::print("job: {}\n", config.dump());
    std::fflush(stdout);
    const JobReport report = execute_job(config, *context);
    const json result = std::visit([](const auto& r) { return r.to_json(); }, report);
    write_whole_file(*result_path, result.dump(2) + "\n");  // a reader never sees half a result
    fmt::print("job finished: {}\n", result.value("metrics", json::object()).dump());
  });
}

void add_launch(CLI::App& app) {
  auto o = std::make_shared<SlurmOptions>();
  auto grid_path = std::make_shared<std::string>();
  auto dry_run = std::make_shared<bool>(false);
  auto force = std::make_shared<bool>(false);
  CLI::App* launch = app.add_subcommand("launch", "Start workers on a cluster manager");
  launch->require_subcommand(1);
  CLI::App* cmd = launch->add_subcommand(
      "slurm", "Submit the grid to the coordinator and start workers as a Slurm job array");
  cmd->add_option("grid", *grid_path, "Grid YAML")->required();
  cmd->add_option("--coordinator", o->coordinator, "HOST:PORT of `cfm serve`, reachable from the nodes")
      ->required();
  cmd->add_option("--token-file", o->token_file, "Token file on a filesystem the nodes share")->required();
  cmd->add_option("--tasks", o->tasks,
                  "Array tasks (workers), at most; no more than the jobs left to run fill")
      ->capture_default_str();
  cmd->add_option("--throttle", o->throttle, "At most this many tasks at once (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--gpus-per-task", o->gpus_per_task,
                  "GPUs per task: one job slot each, or devices_per_job per slot (0 = CPU)")
      ->capture_default_str();
  cmd->add_option("--cpus-per-task", o->cpus_per_task, "CPU cores per task")->capture_default_str();
  cmd->add_option("--partition", o->partition, "Slurm partition");
  cmd->add_option("--time", o->time_limit, "Time limit per task (Slurm format, e.g. 12:00:00)");
  cmd->add_option("--mem", o->memory, "Memory per task (Slurm format, e.g. 64G)");
  cmd->add_option("--account", o->account, "Slurm account");
  cmd->add_option("--logs", o->log_dir, "Folder of the per-task logs (default runs/<grid>/slurm)");
  cmd->add_option("--cache", o->cache_dir, "Feature cache folder for the jobs");
  cmd->add_option("--gpu-type", o->gpu_type, "GPU type in the request: --gres=gpu:TYPE:N (e.g. a100)");
  cmd->add_option(
         "--sbatch-option", o->sbatch_options,
         "Another sbatch option as NAME=VALUE (constraint=a100, qos=high, exclude=node7); repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--signal-grace", o->signal_grace_seconds,
                  "Seconds before the time limit at which Slurm asks the worker to return its leases (USR1)")
      ->capture_default_str();
  cmd->add_option("--idle-exit", o->idle_exit_seconds,
                  "A task offered no job for this many seconds leaves, freeing its GPUs")
      ->capture_default_str();
  cmd->add_option("--retire-after-failures", o->retire_after_failures,
                  "A task stops after this many different jobs failed on its GPUs in a row (0 = never)")
      ->capture_default_str();
  cmd->add_option("--give-up", o->give_up_seconds,
                  "A task exits when the coordinator stays unreachable this many seconds")
      ->capture_default_str();
  cmd->add_flag("--allow-loopback", o->allow_loopback,
                "Accept a --coordinator on 127.0.0.1/localhost (a one-node Slurm on this machine)");
  cmd->add_flag("--force", *force, "Run again jobs that succeeded before");
  cmd->add_flag("--dry-run", *dry_run, "Print the script; submit nothing");
  cmd->callback([=] {
    Grid grid = load_grid(*grid_path);
    o->grid_name = grid.name;
    o->devices_per_job = largest_devices_per_job(grid);
    o->cfm_binary = self_executable();
    o->token_file = fs::absolute(o->token_file).string();
    o->log_dir =
        fs::absolute(o->log_dir.empty() ? fmt::format("runs/{}/slurm", grid.name) : o->log_dir).string();
    const int requested = o->tasks;
    if (*dry_run) {
      o->tasks = std::max(1, tasks_worth_starting(*o, static_cast<int>(grid.jobs.size())));
      fmt::print("{}", slurm_script(*o));
      return;
    }
    check_slurm_options(*o);  // before anything is submitted
    net::Client client(net::parse_endpoint(o->coordinator), net::read_token_file(o->token_file),
                       "launch-" + default_name());
    net::Submitted r = net::Submitted::parse(client.request(submit_message(grid, *force)));
    fmt::print("grid '{}': {} jobs ({} new, {} requeued, {} done before)\n", grid.name, grid.jobs.size(),
               r.added, r.requeued, r.already_done);
    o->tasks = tasks_worth_starting(*o, r.added + r.requeued + r.in_queue);
    if (o->tasks == 0) {
      fmt::print("nothing left to run: no Slurm job submitted\n");
      return;
    }
    if (o->tasks < requested)
      fmt::print("{} tasks instead of --tasks {}: that many fill the {} jobs left to run\n", o->tasks,
                 requested, r.added + r.requeued + r.in_queue);
    std::string id = submit_slurm(slurm_script(*o), o->log_dir + "/cfm-" + grid.name + ".sbatch");
    fmt::print("Slurm array job {} ({} tasks); logs in {}\n", id, o->tasks, o->log_dir);
  });
}

}  // namespace

void add_grid_commands(CLI::App& app) {
  add_launch(app);
  add_run(app);
  add_serve(app);
  add_worker(app);
  add_submit_status(app);
  add_token(app);
  add_job(app);
}

}  // namespace cfm::cli
