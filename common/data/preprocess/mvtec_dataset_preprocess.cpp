#include "common/data/preprocess/mvtec_dataset_preprocess.h"

#include <algorithm>
#include <filesystem>

#include "common/data/sample_checks.h"
#include "common/data/tiff_io.h"
#include "common/util/error.h"
#include "common/util/seed.h"
#include "common/util/whole_file.h"

namespace fs = std::filesystem;

namespace cfm {

void write_xyz_tiff_atomically(const std::string& path, const PointImage& points, bool float64) {
  std::string temporary = temporary_path_for(path);
  write_xyz_tiff(temporary, points, float64 ? TiffSampleType::Float64 : TiffSampleType::Float32);
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) throw IoError(path, "cannot replace file: " + error.message());
}

BatchReport preprocess_mvtec_dataset(const MvtecDatasetOptions& o) {
  if (!fs::is_directory(o.in)) throw IoError(o.in, "dataset folder does not exist");
  // An --out that does not exist yet is not the input. (Ask first: libstdc++ 14's equivalent() throws
  // when either path is missing, where 12's returned false.)
  bool in_place = o.out.empty() || (fs::exists(o.out) && fs::equivalent(o.in, o.out));
  std::vector<std::string> tiffs;
  for (const auto& entry : fs::recursive_directory_iterator(o.in)) {
    if (!entry.is_regular_file()) continue;
    fs::path relative = fs::relative(entry.path(), o.in);
    if (entry.path().extension() == ".tiff") {
      tiffs.push_back(relative.string());
    } else if (!in_place) {  // mirror everything else unchanged
      fs::create_directories((fs::path(o.out) / relative).parent_path());
      fs::copy_file(entry.path(), fs::path(o.out) / relative, fs::copy_options::overwrite_existing);
    }
  }
  std::sort(tiffs.begin(), tiffs.end());
  return run_file_batch(tiffs, o.threads, "preprocess", o.progress, [&](const std::string& relative) {
    std::string source = (fs::path(o.in) / relative).string();
    std::string target = in_place ? source : (fs::path(o.out) / relative).string();
    PointImage points = read_xyz_tiff(source);
    MvtecPreprocessParams params = o.params;
    params.seed = derive_seed(o.params.seed, relative);  // reproducible per file, any thread order
    MvtecPreprocessStats stats;
    PointImage processed;
    try {
      processed = preprocess_mvtec_cloud(points, params, source, &stats);
    } catch (const DataError& e) {
      // A cloud whose border is already zero was most likely preprocessed before.
      bool padded =
          points.width == points.height && points.width == preprocessed_side(points.width, points.height);
      if (padded && e.problem().find("border band") != std::string::npos)
        throw DataError(source, e.problem() + "; is this dataset already preprocessed?");
      throw;
    }
    fs::create_directories(fs::path(target).parent_path());
    write_xyz_tiff_atomically(target, processed, false);
    return FileResult{stats.points_in, stats.points_out};
  });
}

}  // namespace cfm
