// This machine's host name, as the kernel reports it ("?" when it cannot): what names a worker, a lock's
// holder or a node in messages.
#pragma once

#include <string>

namespace cfm {

std::string host_name();

}  // namespace cfm
