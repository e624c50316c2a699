#include "common/net/messages.h"

#include <gtest/gtest.h>

#include "common/net/frame.h"
#include "common/net/protocol_error.h"

namespace cfm::net {
namespace {

using nlohmann::json;

// Through a real frame, as a peer would receive it.
json over_the_wire(const json& message) { return decode_body(encode_frame(message).substr(4)); }

TEST(Messages, EveryMessageRoundTripsThroughAFrame) {
  EXPECT_EQ(Hello::parse(over_the_wire(Hello{"node1/0"}.to_json())).name, "node1/0");
  EXPECT_EQ(type_of(over_the_wire(Welcome{}.to_json())), message_type::kWelcome);
  EXPECT_EQ(ErrorReply::parse(over_the_wire(ErrorReply{"no"}.to_json())).reason, "no");
  EXPECT_EQ(ErrorReply::parse(over_the_wire(ErrorReply{"no"}.to_json())).retry_after, 0);  // a final "no"
  EXPECT_EQ(ErrorReply::parse(over_the_wire(ErrorReply{"busy", 1.5}.to_json())).retry_after, 1.5);
  EXPECT_THROW(ErrorReply::parse({{"type", "error"}, {"reason", "x"}, {"retry_after", 3600}}), ProtocolError);
  EXPECT_EQ(LeaseRequest::parse(over_the_wire(LeaseRequest{"w"}.to_json())).worker, "w");
  EXPECT_EQ(LeaseRequest::parse(over_the_wire(LeaseRequest{"w", 4}.to_json())).devices, 4);
  EXPECT_EQ(LeaseRequest::parse({{"type", "lease"}, {"worker", "w"}}).devices, 1);  // a slot of one device
  EXPECT_THROW(LeaseRequest::parse({{"type", "lease"}, {"worker", "w"}, {"devices", 0}}), ProtocolError);
  EXPECT_TRUE(Idle::parse(over_the_wire(Idle{true}.to_json())).finished);
  JobOfferMessage job{std::string(64, 'a'), "lease", "/runs/" + std::string(64, 'a'), 2,
                      {{"method", "noop"}}, 7.5};
  JobOfferMessage back = JobOfferMessage::parse(over_the_wire(job.to_json()));
  EXPECT_EQ(back.key, job.key);
  EXPECT_EQ(back.lease_id, "lease");
  EXPECT_EQ(back.run_dir, job.run_dir);
  EXPECT_EQ(back.attempt, 2);
  EXPECT_EQ(back.config, job.config);
  EXPECT_EQ(back.heartbeat_seconds, 7.5);
  EXPECT_EQ(Heartbeat::parse(over_the_wire(Heartbeat{"l"}.to_json())).lease_id, "l");
  EXPECT_FALSE(HeartbeatReply::parse(over_the_wire(HeartbeatReply{false}.to_json())).valid);
  EXPECT_EQ(
      ResultReport::parse(
          over_the_wire(ResultReport{"l", JobResult::from_json({{"metrics", {{"i_auroc", 0.9}}}})}.to_json()))
          .result.metrics.at("i_auroc"),
      0.9);
  FailureReport failure =
      FailureReport::parse(over_the_wire(FailureReport{"l", "exit code 1", "tail"}.to_json()));
  EXPECT_EQ(failure.error, "exit code 1");
  EXPECT_EQ(failure.log_tail, "tail");
  EXPECT_EQ(Release::parse(over_the_wire(Release{"l"}.to_json())).lease_id, "l");
  EXPECT_EQ(over_the_wire(Acknowledgement{true}.to_json())["accepted"], true);
  Submitted submitted = Submitted::parse(over_the_wire(Submitted{1, 2, 3, 4}.to_json()));
  EXPECT_EQ(
      submitted.added + submitted.requeued * 10 + submitted.already_done * 100 + submitted.in_queue * 1000,
      4321);
  EXPECT_EQ(StatusRequest::parse(over_the_wire(StatusRequest{"demo"}.to_json())).grid, "demo");
  StatusReply status = StatusReply::parse(over_the_wire(StatusReply{1, 2, 3, 4, 5, {"a", "b"}}.to_json()));
  EXPECT_EQ(status.failed, 5);
  EXPECT_EQ(status.grids, (std::vector<std::string>{"a", "b"}));
}

TEST(Messages, WrongTypesSizesAndMissingFieldsAreRefused) {
  EXPECT_THROW(Hello::parse({{"type", "hello"}}), ProtocolError);
  EXPECT_THROW(Hello::parse({{"type", "hello"}, {"name", "line\nbreak"}}), ProtocolError);
  EXPECT_THROW(Hello::parse({{"type", "hello"}, {"name", std::string(129, 'n')}}), ProtocolError);
  EXPECT_THROW(Hello::parse({{"type", "hello"}, {"name", 7}}), ProtocolError);
  EXPECT_THROW(Heartbeat::parse({{"type", "heartbeat"}}), ProtocolError);
  EXPECT_THROW(Heartbeat::parse({{"type", "heartbeat"}, {"lease_id", std::string(65, 'l')}}), ProtocolError);
  EXPECT_THROW(ResultReport::parse({{"type", "result"}, {"lease_id", "l"}, {"result", {{"metrics", 3}}}}),
               ProtocolError);
  EXPECT_THROW(FailureReport::parse(
                   {{"type", "failure"}, {"lease_id", "l"}, {"error", std::string(kMaxErrorBytes + 1, 'e')}}),
               ProtocolError);
  json job = JobOfferMessage{std::string(64, 'a'), "l", "/r", 1, json::object(), 5}.to_json();
  job["attempt"] = 0;
  EXPECT_THROW(JobOfferMessage::parse(job), ProtocolError);
  job["attempt"] = 1;
  job["heartbeat_seconds"] = -1;
  EXPECT_THROW(JobOfferMessage::parse(job), ProtocolError);
  EXPECT_THROW(StatusReply::parse({{"type", "status"}, {"pending", -1}}), ProtocolError);
  try {
    LeaseRequest::parse({{"type", "lease"}, {"worker", std::string(4u << 20, 'w')}});
  } catch (const ProtocolError& e) {
    EXPECT_EQ(std::string(e.what()), "'lease' message: field 'worker' is 4194304 bytes long (limit 128)");
  }
}

}  // namespace
}  // namespace cfm::net
