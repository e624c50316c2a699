// Anomaly maps as pictures for people: the map scaled by its own maximum, dark blue -> red -> yellow.
#pragma once

#include "common/data/image.h"

namespace cfm {

ImageU8 heat_map(const Image<float>& map);

}  // namespace cfm
