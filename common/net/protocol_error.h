#pragma once

#include "common/util/error.h"

namespace cfm::net {

// A peer broke the wire protocol (bad frame, bad JSON, unknown message, failed authentication).
class ProtocolError : public Error {
 public:
  using Error::Error;
};

}  // namespace cfm::net
