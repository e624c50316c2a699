#include "common/net/host_address.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>

#include <memory>

#include "common/util/host_name.h"

namespace cfm::net {
namespace {

bool is_loopback(const sockaddr* address) {
  if (address->sa_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr) >> 24) == 127;
  if (address->sa_family == AF_INET6)
    return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
  return false;
}

std::string numeric(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw =
      address->sa_family == AF_INET
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(address)->sin_addr)
          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
  inet_ntop(address->sa_family, raw, text, sizeof text);
  return address->sa_family == AF_INET6 ? "[" + std::string(text) + "]" : text;
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return false;
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, freeaddrinfo);
  for (const addrinfo* a = found; a; a = a->ai_next)
    if (!is_loopback(a->ai_addr)) return false;
  return found != nullptr;
}

std::string reachable_host(const std::string& listen_host) {
  if (!listen_host.empty() && listen_host != "0.0.0.0" && listen_host != "::") return listen_host;
  ifaddrs* interfaces = nullptr;
  std::string ipv6;
  if (getifaddrs(&interfaces) == 0) {
    std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> owned(interfaces, freeifaddrs);
    for (const ifaddrs* i = interfaces; i; i = i->ifa_next) {
      if (!i->ifa_addr || is_loopback(i->ifa_addr)) continue;
      if (i->ifa_addr->sa_family == AF_INET) return numeric(i->ifa_addr);
      if (i->ifa_addr->sa_family == AF_INET6 && ipv6.empty() &&
          !IN6_IS_ADDR_LINKLOCAL(&reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr))
        ipv6 = numeric(i->ifa_addr);
    }
  }
  if (!ipv6.empty()) return ipv6;
  return host_name();
}

}  // namespace cfm::net
