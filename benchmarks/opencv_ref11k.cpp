// OpenCV's DNN module as an inference-engine peer of benchmarks/run: it runs ref11k's ONNX model (made by
// ref11k_onnx) at batch 1000 and batch 1, from C++ as a deployment would (no interpreter in the timing).
//
//   opencv_ref11k --model FILE.onnx [--threads N]
//
// Before timing, it runs the 16 images of FILE.onnx.inputs.f32 and compares its outputs with typenet's
// (FILE.onnx.outputs.f32); it fails if they differ by more than 1e-3. Prints `key value` lines:
//   infer_images_per_s  batch 1000, median of 5 repeats of 3 forwards
//   latency_ms          batch 1, median of 7 repeats of 50 forwards
//   max_abs_diff_vs_typenet, opencv_version, backend (DNN_BACKEND_OPENCV on DNN_TARGET_CPU), parallel_framework
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

namespace {
constexpr int channels = 1, height = 28, width = 28, classes = 10;

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error(path + ": cannot read (made by ref11k_onnx)");
  std::vector<float> v(static_cast<std::size_t>(in.tellg()) / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

// One network per batch size, as typenet_bench keeps one model per batch: OpenCV plans its buffers for
// the input shape it is given, and re-plans when the shape changes.
cv::dnn::Net load(const std::string& path) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return net;
}

cv::Mat batch_of(int n, float* data) { return cv::Mat({n, channels, height, width}, CV_32F, data); }

// The "Parallel framework:" line of OpenCV's build information ("TBB"), as one word.
std::string parallel_framework() {
  const std::string info = cv::getBuildInformation();
  const std::string key = "Parallel framework:";
  const std::size_t at = info.find(key);
  if (at == std::string::npos) return "unknown";
  std::size_t begin = info.find_first_not_of(' ', at + key.size());
  std::string value = info.substr(begin, info.find('\n', begin) - begin);
  std::replace(value.begin(), value.end(), ' ', '_');
  return value;
}

template <class F>
double median_seconds(int repeats, int calls, F f) {
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (int c = 0; c < calls; ++c) f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / calls);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  std::string model;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--model") == 0) model = argv[i + 1];
    else if (std::strcmp(argv[i], "--threads") == 0) threads = std::stoi(argv[i + 1]);
  }
  if (model.empty()) {
    std::fprintf(stderr, "usage: opencv_ref11k --model FILE.onnx [--threads N]\n");
    return 2;
  }
  cv::setNumThreads(threads);
  try {
    // The same network as typenet's?
    std::vector<float> inputs = read_floats(model + ".inputs.f32");
    const std::vector<float> expected = read_floats(model + ".outputs.f32");
    const int checked = static_cast<int>(inputs.size() / (channels * height * width));
    cv::dnn::Net check = load(model);
    check.setInput(batch_of(checked, inputs.data()));
    const cv::Mat out = check.forward().clone();
    if (out.total() != expected.size()) throw std::runtime_error("OpenCV's output has the wrong size");
    double diff = 0;
    for (std::size_t i = 0; i < expected.size(); ++i)
      diff = std::max(diff, static_cast<double>(std::abs(out.ptr<float>()[i] - expected[i])));
    std::printf("max_abs_diff_vs_typenet %.2g\n", diff);
    if (!(diff <= 1e-3)) throw std::runtime_error("OpenCV's outputs differ from typenet's on the check images");

    std::mt19937 gen(1);
    std::uniform_real_distribution<float> pixel(-0.4f, 2.8f);
    std::vector<float> images(1000 * channels * height * width);
    for (float& x : images) x = pixel(gen);

    cv::dnn::Net infer = load(model);
    const cv::Mat batch = batch_of(1000, images.data());
    const auto infer_step = [&] {
      infer.setInput(batch);
      infer.forward();
    };
    infer_step();  // warm-up: the first forward plans and allocates
    const double infer_batch = median_seconds(5, 3, infer_step);

    cv::dnn::Net single = load(model);
    const cv::Mat one = batch_of(1, images.data());
    const auto one_step = [&] {
      single.setInput(one);
      single.forward();
    };
    for (int i = 0; i < 50; ++i) one_step();
    const double latency = median_seconds(7, 50, one_step);

    std::printf("threads %d\n", cv::getNumThreads());
    std::printf("opencv_version %s\n", CV_VERSION);
    std::printf("backend DNN_BACKEND_OPENCV/DNN_TARGET_CPU\n");
    std::printf("parallel_framework %s\n", parallel_framework().c_str());
    std::printf("infer_images_per_s %.0f\n", 1000 / infer_batch);
    std::printf("latency_ms %.4f\n", latency * 1e3);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
