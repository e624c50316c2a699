#include "common/settings/device_slots.h"

namespace cfm {

std::vector<std::vector<std::string>> device_slots(const std::vector<std::string>& devices, int per_slot) {
  if (per_slot < 1 || devices.empty() || devices.size() % static_cast<std::size_t>(per_slot) != 0) return {};
  std::vector<std::vector<std::string>> slots;
  for (auto first = devices.begin(); first != devices.end(); first += per_slot)
    slots.emplace_back(first, first + per_slot);
  return slots;
}

}  // namespace cfm
