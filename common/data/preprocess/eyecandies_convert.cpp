#include "common/data/preprocess/eyecandies_convert.h"

#include <yaml-cpp/yaml.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "common/data/png_io.h"
#include "common/data/preprocess/mvtec_dataset_preprocess.h"
#include "common/util/error.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

constexpr double kFocalLength = 711.11;  // the same camera for every Eyecandies image

std::pair<double, double> read_depth_range(const std::string& path) {
  try {
    YAML::Node node = YAML::LoadFile(path);
    return {node["normalization"]["min"].as<double>(), node["normalization"]["max"].as<double>()};
  } catch (const YAML::BadFile&) {
    throw IoError(path, "cannot open file (expected the depth normalisation YAML)");
  } catch (const YAML::Exception& e) {
    throw FormatError(path, std::string("expected normalization.min and normalization.max: ") + e.what());
  }
}

void read_pose(const std::string& path, double pose[4][4]) {
  std::ifstream in(path);
  if (!in) throw IoError(path, "cannot open file (expected a 4x4 pose matrix)");
  for (int i = 0; i < 16; ++i)
    if (!(in >> pose[i / 4][i % 4]))
      throw FormatError(path, "expected 16 numbers (a 4x4 pose matrix), found " + std::to_string(i));
}

struct Item {
  std::string category, split, id;
};

}  // namespace

PointImage eyecandies_depth_to_points(const ImageU16& depth, double depth_min, double depth_max,
                                      const double pose[4][4]) {
  Eigen::Matrix4d intrinsics;
  intrinsics << kFocalLength, 0, depth.width / 2.0, 0, 0, kFocalLength, depth.height / 2.0, 0, 0, 0, 1, 0, 0,
      0, 0, 1;
  Eigen::Matrix4d pose_matrix;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) pose_matrix(r, c) = pose[r][c];
  Eigen::Matrix4d inverse = (intrinsics * pose_matrix).inverse();
  // numpy: float32 image / 65535.0 * (max - min) + min, every operation in float32.
  const float range = static_cast<float>(depth_max - depth_min), offset = static_cast<float>(depth_min);
  PointImage points(depth.width, depth.height, 3);
  for (int v = 0; v < depth.height; ++v)
    for (int u = 0; u < depth.width; ++u) {
      float d = static_cast<float>(depth.at(v, u)) / 65535.0f * range + offset;
      Eigen::Vector4d camera(u, v, 1, static_cast<double>(1.0f / d));
      Eigen::Vector4d world = static_cast<double>(d) * (inverse * camera);
      for (int c = 0; c < 3; ++c) points.at(v, u, c) = world[c];
    }
  return points;
}

void remove_eyecandies_background(PointImage& points) {
  std::size_t n = static_cast<std::size_t>(points.width) * points.height;
  const double* a = &points.pixels[256 * 3];        // flat index 256 (row 0, column 256 at 512 wide)
  const double* b = &points.pixels[(n - 256) * 3];  // flat index N - 256
  double dz = a[1] - b[1], dy = a[2] - b[2];
  double norm = std::sqrt(dz * dz + dy * dy);
  double cos_t = dy / norm, sin_t = dz / norm;
  Eigen::Vector3d start(0, b[1], b[2]);
  Eigen::Matrix3d rotation;
  rotation << 1, 0, 0, 0, cos_t, -sin_t, 0, sin_t, cos_t;
  for (std::size_t i = 0; i < n; ++i) {
    double* p = &points.pixels[i * 3];
    Eigen::Vector3d q = rotation * (Eigen::Vector3d(p[0], p[1], p[2]) - start);
    if (q[1] > -0.02 || q[2] > 1.8 || q[0] > 1 || q[0] < -1) q = -start;
    Eigen::Vector3d back = rotation.transpose() * q + start;
    p[0] = back[0] * 0.1;  // axes reordered to (x, z, y) and scaled by (0.1, -0.1, 0.1)
    p[1] = back[2] * -0.1;
    p[2] = back[1] * 0.1;
  }
}

BatchReport convert_eyecandies_dataset(const EyecandiesConvertOptions& o) {
  if (!fs::is_directory(o.in)) throw IoError(o.in, "dataset folder does not exist");
  if (o.out.empty()) throw UsageError("preprocess eyecandies: --out is required");
  std::vector<Item> items;
  std::vector<std::string> names;
  for (const auto& category : fs::directory_iterator(o.in)) {
    if (!category.is_directory()) continue;
    for (const char* split : {"train", "test_public"}) {
      fs::path data = category.path() / split / "data";
      if (!fs::is_directory(data)) continue;
      for (const auto& file : fs::directory_iterator(data)) {
        std::string name = file.path().filename().string();
        const std::string suffix = "_depth.png";
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
          items.push_back(
              {category.path().filename().string(), split, name.substr(0, name.size() - suffix.size())});
      }
    }
  }
  if (items.empty())
    throw IoError(
        o.in, "no Eyecandies samples found (expected <Category>/{train,test_public}/data/<id>_depth.png)");
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return std::tie(a.category, a.split, a.id) < std::tie(b.category, b.split, b.id);
  });
  std::map<std::string, std::size_t> index_of;
  for (const Item& item : items) {
    names.push_back(item.category + "/" + item.split + "/" + item.id);
    index_of[names.back()] = names.size() - 1;
  }
  return run_file_batch(names, o.threads, "convert", o.progress, [&](const std::string& key) {
    const Item& item = items[index_of.at(key)];
    fs::path data = fs::path(o.in) / item.category / item.split / "data";
    auto input = [&](const std::string& suffix) { return (data / (item.id + "_" + suffix)).string(); };
    ImageU16 depth = read_png_u16(input("depth.png"));
    auto [depth_min, depth_max] = read_depth_range(input("info_depth.yaml"));
    double pose[4][4];
    read_pose(input("pose.txt"), pose);
    if (depth.width <= 256 || depth.height < 2)
      throw FormatError(input("depth.png"), "expected a 512x512 depth image, found " +
                                                std::to_string(depth.width) + "x" +
                                                std::to_string(depth.height));
    PointImage points = eyecandies_depth_to_points(depth, depth_min, depth_max, pose);
    remove_eyecandies_background(points);

    std::string defect = "good";
    ImageU8 mask;
    if (item.split == "test_public") {
      mask = read_png_luma(input("mask.png"));
      if (std::any_of(mask.pixels.begin(), mask.pixels.end(), [](std::uint8_t v) { return v != 0; }))
        defect = "bad";
    }
    fs::path folder = fs::path(o.out) / item.category / (item.split == "train" ? "train" : "test") / defect;
    std::string name = std::string(3 - std::min<std::size_t>(3, item.id.size()), '0') + item.id;
    fs::create_directories(folder / "rgb");
    fs::create_directories(folder / "xyz");
    fs::copy_file(input("image_4.png"), folder / "rgb" / (name + ".png"),
                  fs::copy_options::overwrite_existing);
    write_xyz_tiff_atomically((folder / "xyz" / (name + ".tiff")).string(), points, true);
    if (!mask.empty()) {
      fs::create_directories(folder / "gt");
      write_png((folder / "gt" / (name + ".png")).string(), mask);
    }
    std::size_t valid = 0;
    for (std::size_t i = 0; i < points.pixels.size(); i += 3)
      valid += points.pixels[i] != 0 && points.pixels[i + 1] != 0 && points.pixels[i + 2] != 0;
    return FileResult{static_cast<std::size_t>(depth.width) * depth.height, valid};
  });
}

}  // namespace cfm
