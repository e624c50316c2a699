#include "common/net/host_address.h"

#include <gtest/gtest.h>

namespace cfm::net {
namespace {

TEST(HostAddress, LoopbackNamesAndAddressesAreRecognised) {
  for (const char* host : {"127.0.0.1", "127.0.1.1", "localhost", "::1"})
    EXPECT_TRUE(is_loopback_host(host)) << host;
  for (const char* host : {"10.0.0.1", "192.0.2.7", "2001:db8::1"})
    EXPECT_FALSE(is_loopback_host(host)) << host;
  EXPECT_FALSE(is_loopback_host("no-such-host.invalid"));  // does not resolve: connecting will say so
}

TEST(HostAddress, AServerOnEveryInterfaceIsReachedAtOneOfThem) {
  EXPECT_EQ(reachable_host("10.1.2.3"), "10.1.2.3");  // a named address is the address
  EXPECT_EQ(reachable_host("head.cluster"), "head.cluster");
  for (const char* unspecified : {"0.0.0.0", "::", ""}) {
    std::string host = reachable_host(unspecified);
    EXPECT_FALSE(host.empty());
    EXPECT_NE(host, "0.0.0.0");
    EXPECT_NE(host, "[::]");
    // Loopback only when this machine has no other interface (then it is the host name).
    if (host.front() != '[' && host.find_first_not_of("0123456789.") == std::string::npos) {
      EXPECT_FALSE(is_loopback_host(host)) << host;
    }
  }
}

}  // namespace
}  // namespace cfm::net
