// The products of one recurrence step on one thread: rnnzoo's packed GEMM (packed_gemm.h) against
// MKL's sgemm on weights it packed itself (cblas_sgemm_pack / cblas_sgemm_compute, the
// "packed-weight" form) and its plain sgemm, found in torch's libtorch_cpu at run time.
// Built and run by step_products.py:
//
//     step_products LIBTORCH_CPU ROUNDS "name:M,K,N,lda;M,K,N,lda;..." ...
//
// Each argument after the second is one step: its products C_i = A_i @ B_i (A_i: M rows, lda floats
// apart, as a step's rows lie in a (batch, time, features) tensor; B_i: K x N, packed once before
// the clock starts, as a layer packs its kernels once per call). The engines take turns, ROUNDS
// rounds of about 20 ms each; one line per step: name, the median GFLOP/s of each engine, the
// medians of MKL's two rates over rnnzoo's, round by round, then how far each MKL engine's
// products are from rnnzoo's: max |difference| / max |rnnzoo's value| (0 where an engine is
// missing), so that a wrong call can't pass for a fast one.

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "packed_gemm.h"

namespace {

// CBLAS' constants, as MKL's mkl_cblas.h defines them.
constexpr int ROW_MAJOR = 101, NO_TRANS = 111, PACKED = 151, B_MATRIX = 162;
using PackGetSize = size_t (*)(int, int, int, int);
using Pack = void (*)(int, int, int, int, int, int, float, const float*, int, float*);
using Compute = void (*)(int, int, int, int, int, int, const float*, int, const float*, int, float, float*, int);
// The Fortran interface (column-major, every argument by address): libtorch_cpu exports no cblas_sgemm.
using Sgemm = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                       const int*, const float*, const int*, const float*, float*, const int*);

struct Mkl {
  PackGetSize pack_get_size = nullptr;
  Pack pack = nullptr;
  Compute compute = nullptr;
  Sgemm sgemm = nullptr;
  explicit Mkl(const char* library) {
    void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) return;
    pack_get_size = reinterpret_cast<PackGetSize>(dlsym(handle, "cblas_sgemm_pack_get_size"));
    pack = reinterpret_cast<Pack>(dlsym(handle, "cblas_sgemm_pack"));
    compute = reinterpret_cast<Compute>(dlsym(handle, "cblas_sgemm_compute"));
    sgemm = reinterpret_cast<Sgemm>(dlsym(handle, "sgemm_"));
  }
  bool packs() const { return pack_get_size && pack && compute; }
};

struct Product {
  int M, K, N, lda;
  std::vector<float> A, B, C;
  packed::Panels panels;
  packed::Floats mkl_packed;
};

std::vector<float> random_floats(size_t n) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rand() % 200 - 100) * 1e-3f;
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: step_products LIBTORCH_CPU ROUNDS name:M,K,N,lda[;M,K,N,lda...] ...\n");
    return 2;
  }
  const int rounds = std::max(1, std::atoi(argv[2]));
  omp_set_num_threads(1);  // one thread, as each of a layer's threads runs its rows
  const Mkl mkl(argv[1]);
  std::printf("engines: rnnzoo%s%s\n", mkl.packs() ? ", mkl_packed" : "", mkl.sgemm ? ", mkl_sgemm" : "");
  for (int s = 3; s < argc; ++s) {
    std::string spec = argv[s];
    const std::string name = spec.substr(0, spec.find(':'));
    spec = spec.substr(spec.find(':') + 1) + ";";
    std::vector<Product> step;
    for (size_t at = 0, end; (end = spec.find(';', at)) != std::string::npos; at = end + 1) {
      Product p{};
      if (std::sscanf(spec.c_str() + at, "%d,%d,%d,%d", &p.M, &p.K, &p.N, &p.lda) != 4) continue;
      p.A = random_floats(static_cast<size_t>(p.M) * p.lda);
      p.B = random_floats(static_cast<size_t>(p.K) * p.N);
      p.C.assign(static_cast<size_t>(p.M) * p.N, 0.0f);
      std::vector<int64_t> column(p.N);
      for (int j = 0; j < p.N; ++j) column[j] = j;
      p.panels = packed::Panels(p.K, p.B.data(), p.N, std::move(column));
      p.panels.fill(0, 1);
      if (mkl.packs()) {
        p.mkl_packed = packed::aligned_floats((mkl.pack_get_size(B_MATRIX, p.M, p.N, p.K) + 3) / 4);
        mkl.pack(ROW_MAJOR, B_MATRIX, NO_TRANS, p.M, p.N, p.K, 1.0f, p.B.data(), p.N, p.mkl_packed.get());
      }
      step.push_back(std::move(p));
    }
    double flops = 0;
    for (const auto& p : step) flops += 2.0 * p.M * p.K * p.N;
    auto ours = [&] {
      for (auto& p : step) packed::gemm(p.M, p.A.data(), p.lda, p.panels, p.C.data(), p.N);
    };
    auto mkl_packed = [&] {
      for (auto& p : step)
        mkl.compute(ROW_MAJOR, NO_TRANS, PACKED, p.M, p.N, p.K, p.A.data(), p.lda, p.mkl_packed.get(), p.N, 0.0f,
                    p.C.data(), p.N);
    };
    auto mkl_sgemm = [&] {  // row-major C = A @ B is column-major C^T = B^T @ A^T
      const float one = 1.0f, zero = 0.0f;
      for (auto& p : step)
        mkl.sgemm("N", "N", &p.N, &p.M, &p.K, &one, p.B.data(), &p.N, p.A.data(), &p.lda, &zero, p.C.data(), &p.N);
    };
    const int reps = static_cast<int>(std::max(1.0, 2e9 / flops));  // about 20 ms at 100 GFLOP/s
    auto rate = [&](auto&& run) {
      run();
      const auto start = std::chrono::steady_clock::now();
      for (int r = 0; r < reps; ++r) run();
      return flops * reps / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 1e9;
    };
    // Short rounds, many of them, and the ratios taken round by round: this machine's speed may
    // change for seconds at a time, and a round's engines then meet the same spell.
    std::vector<double> a, b, c, b_over_a, c_over_a;
    for (int round = 0; round < rounds; ++round) {
      a.push_back(rate(ours));
      if (mkl.packs()) b.push_back(rate(mkl_packed)), b_over_a.push_back(b.back() / a.back());
      if (mkl.sgemm) c.push_back(rate(mkl_sgemm)), c_over_a.push_back(c.back() / a.back());
    }
    auto or_zero = [](const std::vector<double>& v) { return v.empty() ? 0.0 : median(v); };
    ours();
    std::vector<std::vector<float>> reference;
    for (const auto& p : step) reference.push_back(p.C);
    auto distance = [&](bool present, auto&& run) {  // from rnnzoo's products, relative to their largest value
      if (!present) return 0.0;
      run();
      double largest = 0, difference = 0;
      for (size_t i = 0; i < step.size(); ++i)
        for (size_t j = 0; j < step[i].C.size(); ++j) {
          largest = std::max<double>(largest, std::abs(reference[i][j]));
          difference = std::max<double>(difference, std::abs(step[i].C[j] - reference[i][j]));
        }
      return difference / std::max(largest, 1e-30);
    };
    const double packed_distance = distance(mkl.packs(), mkl_packed), plain_distance = distance(mkl.sgemm, mkl_sgemm);
    std::printf("%s %.2f %.2f %.2f %.3f %.3f %.2e %.2e\n", name.c_str(), median(a), or_zero(b), or_zero(c),
                or_zero(b_over_a), or_zero(c_over_a), packed_distance, plain_distance);
    std::fflush(stdout);
  }
  return 0;
}
