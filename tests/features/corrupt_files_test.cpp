// `cfm check --decode` (Dataset::scan with decode) and a job (load_sample, what every job reads a sample
// with) agree on every damaged file: each kind of truncation and corruption the job refuses is found by the
// check, naming the same file, and an undamaged dataset passes both.
#include <tiffio.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "common/data/dataset.h"
#include "common/features/sample_loader.h"
#include "common/util/error.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

void truncate_to_a_third(const std::string& path) { fs::resize_file(path, fs::file_size(path) / 3); }

// Flips one byte of the first IDAT chunk: at `offset` into its data, or of its CRC (offset -1).
void flip_idat_byte(const std::string& path, long offset) {
  std::string png = bytes_of(path);
  std::size_t idat = png.find("IDAT");
  ASSERT_NE(idat, std::string::npos) << path;
  const auto length = static_cast<std::size_t>(
      static_cast<unsigned char>(png[idat - 4]) << 24 | static_cast<unsigned char>(png[idat - 3]) << 16 |
      static_cast<unsigned char>(png[idat - 2]) << 8 | static_cast<unsigned char>(png[idat - 1]));
  const std::size_t at = idat + 4 + (offset < 0 ? length : static_cast<std::size_t>(offset));
  png[at] = static_cast<char>(png[at] ^ 0x5a);
  write_bytes(path, png);
}

// A well-formed TIFF of the right size whose samples are 16-bit integers instead of floats.
void write_integer_xyz(const std::string& path) {
  TIFF* tiff = TIFFOpen(path.c_str(), "r");
  ASSERT_NE(tiff, nullptr);
  std::uint32_t width = 0, height = 0;
  TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &height);
  TIFFClose(tiff);
  tiff = TIFFOpen(path.c_str(), "w");
  TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, width);
  TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, height);
  TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, 3);
  TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, 16);
  TIFFSetField(tiff, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
  TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
  TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  std::vector<std::uint16_t> row(width * 3, 7);
  for (std::uint32_t y = 0; y < height; ++y) TIFFWriteScanline(tiff, row.data(), y, 0);
  TIFFClose(tiff);
}

struct Damage {
  const char* what;
  const char* file;  // of the anomalous test sample: rgb, xyz or gt
  std::function<void(const std::string&)> apply;
};

TEST(CorruptFiles, CheckDecodeAndTheJobAgreeOnEveryDamagedFile) {
  test::TempDir dir;
  test::write_preprocessed_dataset(test::small_synth(dir / "clean", 1, 100, 1, 0, 1));
  Dataset clean(dir / "clean");
  ASSERT_TRUE(clean.scan(true, true).ok());
  const std::vector<SampleFiles> clean_test = clean.samples("cookie", "test");
  for (const SampleFiles& sample : clean_test) EXPECT_NO_THROW(load_sample(sample, 56, 56)) << sample.id();

  const std::vector<Damage> damages = {
      {"truncated RGB PNG", "rgb", truncate_to_a_third},
      {"truncated ground-truth PNG", "gt", truncate_to_a_third},
      {"RGB PNG with a bad CRC", "rgb", [](const std::string& p) { flip_idat_byte(p, -1); }},
      {"RGB PNG with corrupt compressed data", "rgb", [](const std::string& p) { flip_idat_byte(p, 10); }},
      {"RGB file that is not a PNG", "rgb", [](const std::string& p) { write_bytes(p, "not a png at all"); }},
      {"truncated point-cloud TIFF", "xyz", truncate_to_a_third},
      {"point-cloud TIFF of integer samples", "xyz", write_integer_xyz},
  };
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.what);
    const std::string root = dir / damage.what;
    fs::copy(dir / "clean", root, fs::copy_options::recursive);
    std::vector<SampleFiles> test = Dataset(root).samples("cookie", "test");
    auto anomalous =
        std::find_if(test.begin(), test.end(), [](const SampleFiles& s) { return s.label == 1; });
    ASSERT_NE(anomalous, test.end());
    const std::string file = std::string(damage.file) == "rgb"   ? anomalous->rgb
                             : std::string(damage.file) == "xyz" ? anomalous->xyz
                                                                 : anomalous->gt;
    damage.apply(file);

    std::string job_problem;
    try {
      load_sample(*anomalous, 56, 56);
    } catch (const FileError& e) {
      EXPECT_EQ(e.path(), file);
      job_problem = e.problem();
    }
    ASSERT_FALSE(job_problem.empty()) << "the job read the damaged file";
    ScanReport report = Dataset(root).scan(true, true);
    ASSERT_EQ(report.problems.size(), 1u) << report.problems.size();
    EXPECT_EQ(report.problems[0].path, file);
    EXPECT_EQ(report.problems[0].problem, job_problem);  // the same explanation, word for word
  }
}

}  // namespace
}  // namespace cfm
