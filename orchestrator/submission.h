// A grid submission as it arrives over the network, checked completely before the store sees it: the
// wire checks of net::Submit::parse (plain grid name, job keys, objects, counts), then every configuration
// is a resolved one the settings table accepts and every axis is one of its settings. A bad submission is
// refused as a whole (net::ProtocolError naming the job and the field); nothing is stored.
#pragma once

#include <nlohmann/json.hpp>

#include "common/net/messages.h"

namespace cfm {

net::Submit parse_submission(const nlohmann::json& message);

}  // namespace cfm
