// Which address of this machine other hosts can reach, and whether an address is this machine's
// loopback: workers on other nodes need the coordinator at the first kind, never at the second.
#pragma once

#include <string>

namespace cfm::net {

// True when `host` is "localhost" or every address it resolves to is a loopback one (127.0.0.0/8, ::1).
// False for a name that does not resolve (connecting will say so).
bool is_loopback_host(const std::string& host);

// The host other machines should connect to for a server listening on `listen_host`: `listen_host` itself,
// or, for the unspecified address (0.0.0.0, ::, ""), this machine's first IPv4 interface address that is
// not loopback (then IPv6, bracketed; the host name when there is none).
std::string reachable_host(const std::string& listen_host);

}  // namespace cfm::net
