#include "common/cfm/scorer.h"

#include <torch/torch.h>

#include "common/cfm/mapping_network.h"
#include "common/util/error.h"
#include "common/util/npy.h"
#include "test_support.h"

namespace cfm {
namespace {

TEST(Scorer, NormalisedDiscrepancyByHand) {
  at::Tensor prediction = torch::tensor({1.f, 0.f, 2.f, 0.f, 3.f, 4.f}).reshape({3, 2});
  at::Tensor target = torch::tensor({0.f, 1.f, 1.f, 0.f, 0.f, 0.f}).reshape({3, 2});
  at::Tensor d = normalised_discrepancy(prediction, target);
  EXPECT_NEAR(d[0].item<float>(), std::sqrt(2.f), 1e-6);  // orthogonal unit vectors
  EXPECT_NEAR(d[1].item<float>(), 0.f, 1e-7);             // same direction, other length
  EXPECT_NEAR(d[2].item<float>(), 1.f, 1e-6);             // a zero target normalises to 0
}

TEST(Scorer, BoxFilterEqualsZeroPaddedConvolution) {
  torch::manual_seed(2);
  at::Tensor map = torch::rand({30, 26});
  map.index_put_({torch::indexing::Slice(0, 10)}, 0);
  for (int size : {5, 7}) {
    at::Tensor kernel = torch::full({1, 1, size, size}, 1.0 / (size * size));
    at::Tensor reference = map.view({1, 1, 30, 26});
    for (int pass = 0; pass < 2; ++pass) reference = torch::conv2d(reference, kernel, {}, 1, size / 2);
    EXPECT_LE((box_filter(map, size, 2) - reference.view({30, 26})).abs().max().item<float>(), 1e-6f) << size;
  }
}

// The mean filter as a direct loop over each output's window (row-major, inside the image only).
at::Tensor box_filter_by_loops(const at::Tensor& map, int size) {
  at::Tensor in = map.contiguous(), out = torch::zeros_like(in);
  const std::int64_t h = in.size(0), w = in.size(1), r = size / 2;
  const float weight = 1.0f / static_cast<float>(size * size);
  const float* a = in.data_ptr<float>();
  float* b = out.data_ptr<float>();
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      float sum = 0;
      for (std::int64_t yy = std::max<std::int64_t>(0, y - r); yy <= std::min(h - 1, y + r); ++yy)
        for (std::int64_t xx = std::max<std::int64_t>(0, x - r); xx <= std::min(w - 1, x + r); ++xx)
          sum += a[yy * w + xx] * weight;
      b[y * w + x] = sum;
    }
  return out;
}

TEST(Scorer, BoxFilterEqualsTheDirectLoopBitForBitAlsoInABatch) {
  torch::manual_seed(5);
  at::Tensor maps = torch::rand({3, 61, 47}) * 3;
  maps.slice(1, 0, 20).zero_();
  at::Tensor batched = box_filter(box_filter(maps, 5, 5), 7, 3);
  for (std::int64_t i = 0; i < maps.size(0); ++i) {
    at::Tensor expected = maps[i];
    for (int pass = 0; pass < 5; ++pass) expected = box_filter_by_loops(expected, 5);
    for (int pass = 0; pass < 3; ++pass) expected = box_filter_by_loops(expected, 7);
    EXPECT_TRUE(torch::equal(box_filter(box_filter(maps[i], 5, 5), 7, 3), expected)) << i;
    EXPECT_TRUE(torch::equal(batched[i], expected)) << i;
  }
}

TEST(Scorer, SmoothingSupportIsExactlyNineteenPixels) {
  at::Tensor impulse = torch::zeros({224, 224});
  impulse[100][100] = 1;
  at::Tensor s = box_filter(box_filter(impulse, 5, 5), 7, 3);
  EXPECT_GT(s[100][119].item<float>(), 0.f);  // 2+2+2+2+2+3+3+3 = 19 px reach
  EXPECT_EQ(s[100][120].item<float>(), 0.f);  // exactly zero beyond it
  EXPECT_EQ(s[81 - 1][100].item<float>(), 0.f);
  EXPECT_NEAR(s.sum().item<float>(), 1.f, 1e-5);  // mass preserved away from the borders
}

TEST(Scorer, EmptyPixelsAreMaskedBeforeAndAfterTheProduct) {
  torch::manual_seed(3);
  const int grid = 32;
  at::Tensor rgb = torch::randn({grid * grid, 6}), rgb_pred = torch::randn({grid * grid, 6});
  at::Tensor xyz = torch::randn({grid * grid, 9}), xyz_pred = torch::randn({grid * grid, 9});
  at::Tensor empty = torch::zeros({grid * grid}, torch::kBool);
  empty.slice(0, 0, grid * 25).fill_(true);  // the first 25 rows have no 3D feature
  AnomalyMaps maps = score_sample(rgb, rgb_pred, xyz, xyz_pred, empty, grid);
  EXPECT_EQ(maps.map_2d.slice(0, 0, 25).abs().sum().item<float>(), 0.f);
  EXPECT_EQ(maps.map_3d.slice(0, 0, 25).abs().sum().item<float>(), 0.f);
  EXPECT_GT(maps.map_2d.slice(0, 25).min().item<float>(), 0.f);
  at::Tensor expected = box_filter(box_filter(maps.map_2d * maps.map_3d, 5, 5), 7, 3);
  EXPECT_TRUE(torch::equal(maps.combined, expected));
  // Rows 0-5 lie 20 or more rows from the first score (row 25): exactly zero; row 6 is reached.
  EXPECT_EQ(maps.combined.slice(0, 0, 6).abs().sum().item<float>(), 0.f);
  EXPECT_GT(maps.combined[6].sum().item<float>(), 0.f);
}

TEST(Scorer, ScoringTheKeptRowsAloneGivesTheSameMapsBitForBit) {
  torch::manual_seed(4);
  const int grid = 40;
  at::Tensor rgb = torch::randn({grid * grid, 768}), rgb_pred = torch::randn({grid * grid, 768});
  at::Tensor xyz = torch::randn({grid * grid, 1152}), xyz_pred = torch::randn({grid * grid, 1152});
  at::Tensor empty = torch::rand({grid * grid}) < 0.6;  // scattered empty pixels holding non-zero rows
  AnomalyMaps full = score_sample(rgb, rgb_pred, xyz, xyz_pred, empty, grid);
  at::Tensor kept = (~empty).nonzero().squeeze(1);
  AnomalyMaps rows = discrepancy_maps(kept, rgb.index_select(0, kept), rgb_pred.index_select(0, kept),
                                      xyz.index_select(0, kept), xyz_pred.index_select(0, kept), grid);
  rows.combined = smooth_anomaly_maps(rows.map_2d * rows.map_3d);  // as map_samples does
  EXPECT_TRUE(torch::equal(rows.map_2d, full.map_2d));
  EXPECT_TRUE(torch::equal(rows.map_3d, full.map_3d));
  EXPECT_TRUE(torch::equal(rows.combined, full.combined));
}

TEST(MappingNetwork, OfficialSizesKeysAndPythonRoundTrip) {
  MappingNetwork to_3d(768, 1152), to_2d(1152, 768);
  auto count = [](MappingNetwork& n) {
    std::int64_t total = 0;
    for (const auto& p : n->parameters()) total += p.numel();
    return total;
  };
  EXPECT_EQ(count(to_3d), 2767872);  // docs/method.md §4.1
  EXPECT_EQ(count(to_2d), 2767488);
  StateDict state = to_3d->state();
  EXPECT_EQ(state.size(), 6u);
  EXPECT_TRUE(state.count("projection.weight"));
  EXPECT_EQ(mapping_checkpoint_name("2Dto3D", "bagel", 250, 4), "CFM_2Dto3D_bagel_250ep_4bs.pth");

  test::TempDir dir;
  MappingNetwork small(12, 20);
  save_mapping_network(small, dir / "m.pth");
  MappingNetwork loaded = load_mapping_network(dir / "m.pth");
  at::Tensor x = torch::randn({5, 12});
  torch::NoGradGuard no_grad;
  at::Tensor ours = small->forward(x);
  EXPECT_TRUE(torch::equal(loaded->forward(x), ours));
  CFM_REQUIRE_PYTHON("torch", "python3-torch");
  write_npy_f32(dir / "x.npy", {5, 12}, x.data_ptr<float>());
  auto r = test::run_command("/usr/bin/python3 " CFM_SOURCE_DIR "/tools/mapping_reference.py " +
                             (dir / "m.pth") + " 12 20 " + (dir / "x.npy") + " " + (dir / "y.npy"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  NpyArray y = read_npy(dir / "y.npy");
  at::Tensor theirs = torch::from_blob(y.data.data(), {5, 20}, torch::kFloat32);
  EXPECT_LE((theirs - ours).abs().max().item<float>(), 1e-5f);
}

TEST(MappingNetwork, WrongSizesAreOneClearError) {
  test::TempDir dir;
  MappingNetwork small(12, 20);
  StateDict state = small->state();
  state["projection.weight"] = torch::zeros({3, 3});
  write_torch_checkpoint(dir / "bad.pth", {{"", state}});
  try {
    load_mapping_network(dir / "bad.pth");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.problem().find("projection.weight is [3, 3] (expected [16, 16])"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(load_mapping_network(dir / "missing.pth"), IoError);
}

TEST(MappingNetwork, TheBigNetworkHasTheOfficialLayersSizesAndKeys) {
  MappingNetwork to_3d(768, 1152, MapperKind::Big), to_2d(1152, 768, MapperKind::Big);
  auto count = [](MappingNetwork& n) {
    std::int64_t total = 0;
    for (const auto& p : n->parameters()) total += p.numel();
    return total;
  };
  // input 768x960+960, five 960x960+960, output 960x1152+1152 (docs/method.md §4.1)
  EXPECT_EQ(count(to_3d), 738240 + 5 * 922560 + 1107072);
  EXPECT_EQ(count(to_2d), 1106880 + 5 * 922560 + 738048);
  StateDict state = to_3d->state();
  EXPECT_EQ(state.size(), 14u);
  for (const char* key : {"input.weight", "projection_a.weight", "projection_e.bias", "output.bias"})
    EXPECT_TRUE(state.count(key)) << key;
  EXPECT_FALSE(state.count("projection.weight"));
  EXPECT_EQ(parse_mapper_kind("big"), MapperKind::Big);
  EXPECT_EQ(mapper_kind_name(MapperKind::Standard), "standard");
  EXPECT_THROW(parse_mapper_kind("huge"), UsageError);
}

// The mapping networks of either kind and the anomaly map they give equal the official classes and the
// official scoring run by Python on the same weights and features (tools/mapping_reference.py).
TEST(MappingNetwork, BothKindsAndTheirAnomalyMapsEqualTheOfficialCode) {
  CFM_REQUIRE_PYTHON("torch", "python3-torch");
  const int grid = 24, rgb_channels = 12, xyz_channels = 20;
  for (MapperKind kind : {MapperKind::Standard, MapperKind::Big}) {
    SCOPED_TRACE(mapper_kind_name(kind));
    test::TempDir dir;
    CrossmodalMappers mappers = make_mappers(rgb_channels, xyz_channels, 7, kind);
    save_mapping_network(mappers.to_3d, dir / "to_3d.pth");
    save_mapping_network(mappers.to_2d, dir / "to_2d.pth");
    torch::manual_seed(3);
    at::Tensor rgb = torch::randn({grid * grid, rgb_channels});
    at::Tensor xyz = torch::randn({grid * grid, xyz_channels});
    at::Tensor empty = torch::rand({grid * grid}) < 0.3;  // 3D-empty pixels: zero point rows
    xyz.index_put_({empty}, 0.0);
    torch::NoGradGuard no_grad;
    at::Tensor xyz_pred = mappers.to_3d->forward(rgb), rgb_pred = mappers.to_2d->forward(xyz);
    at::Tensor map = score_sample(rgb, rgb_pred, xyz, xyz_pred, empty, grid).combined;
    write_npy_f32(dir / "rgb.npy", {grid * grid, rgb_channels}, rgb.data_ptr<float>());
    write_npy_f32(dir / "xyz.npy", {grid * grid, xyz_channels}, xyz.data_ptr<float>());
    auto r = test::run_command("/usr/bin/python3 " CFM_SOURCE_DIR "/tools/mapping_reference.py map " +
                               (dir / "to_3d.pth") + " " + (dir / "to_2d.pth") + " " + (dir / "rgb.npy") +
                               " " + (dir / "xyz.npy") + " " + std::to_string(grid) + " " +
                               (dir / "map.npy") + (kind == MapperKind::Big ? " --big" : ""));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto python = [&](const std::string& name, std::vector<std::int64_t> shape) {
      NpyArray a = read_npy(dir / name);
      return torch::from_blob(a.data.data(), shape, torch::kFloat32).clone();
    };
    EXPECT_LE((python("map-xyz_pred.npy", {grid * grid, xyz_channels}) - xyz_pred).abs().max().item<float>(),
              1e-5f);
    EXPECT_LE((python("map-rgb_pred.npy", {grid * grid, rgb_channels}) - rgb_pred).abs().max().item<float>(),
              1e-5f);
    at::Tensor theirs = python("map.npy", {grid, grid});
    ASSERT_GT(map.max().item<float>(), 0.1f);
    EXPECT_LE((theirs - map).abs().max().item<float>(), 1e-5f * map.max().item<float>());
  }
}

TEST(MappingNetwork, ACheckpointOfTheOtherKindSaysWhichMapperItNeeds) {
  test::TempDir dir;
  MappingNetwork big(12, 20, MapperKind::Big), standard(12, 20);
  save_mapping_network(big, dir / "big.pth");
  save_mapping_network(standard, dir / "standard.pth");
  try {
    load_mapping_network(dir / "big.pth");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("projection_a … projection_e"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pass --mapper big"), std::string::npos) << e.what();
  }
  try {
    load_mapping_network(dir / "standard.pth", MapperKind::Big);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("pass --mapper standard"), std::string::npos) << e.what();
  }
  // Strict within a kind too: a big checkpoint missing a layer names it.
  StateDict state = big->state();
  state.erase("projection_c.bias");
  write_torch_checkpoint(dir / "short.pth", {{"", state}});
  try {
    load_mapping_network(dir / "short.pth", MapperKind::Big);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("projection_c.bias"), std::string::npos) << e.what();
  }
  at::Tensor x = torch::randn({3, 12});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(
      torch::equal(load_mapping_network(dir / "big.pth", MapperKind::Big)->forward(x), big->forward(x)));
}

}  // namespace
}  // namespace cfm
