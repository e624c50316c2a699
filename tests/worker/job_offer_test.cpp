#include "worker/job_offer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <tuple>
#include <vector>

#include "common/net/messages.h"
#include "common/settings/job_config.h"
#include "test_support.h"

namespace cfm {
namespace {

using nlohmann::json;

const std::string kKey(64, 'a');

// A job offer as the coordinator sends it, for a resolved noop job.
json offer(const std::string& run_dir, const json& config = resolve_job_config({{"method", "noop"}}, "/")) {
  return net::JobOfferMessage{kKey, "lease-1", run_dir, 2, config, 5}.to_json();
}

TEST(JobOffer, AWellFormedOfferIsAccepted) {
  JobOffer o = check_job_offer(offer("/runs/" + kKey), {});
  EXPECT_EQ(o.key, kKey);
  EXPECT_EQ(o.lease_id, "lease-1");
  EXPECT_EQ(o.attempt, 2);
  EXPECT_EQ(o.config["method"], "noop");
}

// Each offer is refused before anything touches the disk, with a reason that names what is wrong.
TEST(JobOffer, OffersThatWouldWriteElsewhereOrRunSomethingElseAreRefused) {
  test::TempDir dir;
  const std::string runs = dir / "runs", inputs = dir / "inputs";
  std::filesystem::create_directories(runs);
  std::filesystem::create_directories(inputs);
  json cfm_config = resolve_job_config({{"method", "cfm"},
                                        {"dataset", "/elsewhere/data"},
                                        {"category", "bagel"},
                                        {"preset", "demo"},
                                        {"vit_weights", inputs + "/vit.pth"},
                                        {"point_mae_weights", inputs + "/pm.pth"}},
                                       "/");
  json bad_key = offer("/runs/" + kKey);
  bad_key["key"] = "../../etc";
  json unresolved = offer("/runs/" + kKey);
  unresolved["config"] = {{"method", "noop"}};
  const std::vector<std::tuple<json, WorkerFolders, std::string>> cases = {
      {bad_key, {}, "is not 64 lower-case hex characters"},
      {offer("runs/" + kKey), {}, "is not an absolute, normalised path ending in the job key"},
      {offer("/runs/../etc/" + kKey), {}, "is not an absolute, normalised path ending in the job key"},
      {offer("/runs/other"), {}, "is not an absolute, normalised path ending in the job key"},
      {offer("/tmp/" + kKey), {runs, {}}, "is not inside this worker's runs folder"},
      {unresolved, {}, "not resolved"},
      {offer(runs + "/" + kKey, cfm_config),
       {runs, {inputs}},
       "setting 'dataset' (/elsewhere/data) is outside"},
  };
  for (const auto& [job, folders, reason] : cases) {
    SCOPED_TRACE(job.dump());
    try {
      check_job_offer(job, folders);
      ADD_FAILURE() << "accepted";
    } catch (const JobRefused& e) {
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(offer_lease_id(bad_key), "lease-1");  // a refusal is still reported against its lease
}

}  // namespace
}  // namespace cfm
