// Devices in slots: a worker (or `cfm run`) runs one job at a time per slot, on all of the slot's devices.
//
//   device_slots({"cuda:0", "cuda:1", "cuda:2", "cuda:3"}, 2)   // {{cuda:0, cuda:1}, {cuda:2, cuda:3}}
#pragma once

#include <string>
#include <vector>

namespace cfm {

// Consecutive groups of `per_slot` devices; empty when the devices do not split evenly (or per_slot < 1),
// for the caller to say so in its own terms.
std::vector<std::vector<std::string>> device_slots(const std::vector<std::string>& devices, int per_slot);

}  // namespace cfm
