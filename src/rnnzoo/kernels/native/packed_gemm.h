// A float32 GEMM for the recurrent kernels' per-step products, C = A @ B, with B packed once.
//
// Every step of a recurrence multiplies a few dozen rows (h_{t-1}, or dZ_t going back) by the
// same recurrent kernel, T times over. A library sgemm packs that kernel again on every call and,
// for such short products, spends much of its time in dispatch and packing: perf showed MKL at
// 110-150 GFLOP/s on the step shapes against ~200 on a 1024^3 product. Here B is packed ONCE per
// layer call into column panels of NR floats (k-major inside a panel, the last one zero-padded),
// and each product runs a register-blocked micro-kernel: an MR x NR tile of C lives in vector
// registers while k runs over the whole depth, one rank-1 update per k,
//
//     C[i, j0:j0+NR] += A[i, k] * B[k, j0:j0+NR]      for the tile's MR rows i.
//
// Written with GCC vector extensions so that -march=native picks the instructions: AVX-512 (16
// floats a register, 8 x 32 tile = 16 accumulators of the 32 registers) or AVX2 (8 floats, 6 x 16).

#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace packed {

#if defined(__AVX512F__)
constexpr int64_t VW = 16;  // floats per vector register
constexpr int64_t MR = 8;   // rows of a tile
#else
constexpr int64_t VW = 8;
constexpr int64_t MR = 6;
#endif
constexpr int64_t NR = 2 * VW;  // columns of a tile = width of a panel

typedef float vec __attribute__((vector_size(VW * sizeof(float))));                       // aligned loads
typedef float vec_u __attribute__((vector_size(VW * sizeof(float)), aligned(alignof(float))));  // any address

// B (K x N) as ceil(N / NR) panels of K x NR floats, 64-byte aligned, where
//
//     B[k, j] = base[k * k_stride + column[j]]
//
// so the columns may be gathered from anywhere (the same units of several gates; a transposed
// matrix when k_stride is 1) without an intermediate copy. The constructor only allocates;
// `fill` copies the panels, in shares so that the threads that will use them can pack together.
class Panels {
 public:
  Panels() = default;
  // bias (N floats, or nullptr): added to every row of C, as the products' starting value.
  Panels(int64_t K, const float* base, int64_t k_stride, std::vector<int64_t> column, const float* bias = nullptr)
      : K_(K), N_(static_cast<int64_t>(column.size())), count_((N_ + NR - 1) / NR), base_(base),
        k_stride_(k_stride), column_(std::move(column)) {
    const size_t bytes = static_cast<size_t>(std::max<int64_t>(1, count_ * K * NR)) * sizeof(float);
    data_.reset(static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
    if (!data_) throw std::bad_alloc();
    if (bias != nullptr) {
      bias_.assign(count_ * NR, 0.0f);  // zero-padded like the last panel
      std::copy(bias, bias + N_, bias_.begin());
    }
  }

  // Packs panels first, first + step, ... (thread `first` of a team of `step`).
  void fill(int64_t first, int64_t step) {
    for (int64_t p = first; p < count_; p += step) {
      float* panel = data_.get() + p * K_ * NR;
      const int64_t j0 = p * NR, cols = std::min(NR, N_ - j0);
      const int64_t* column = column_.data() + j0;
      if (k_stride_ == 1) {  // B = a transposed matrix: read each source row once, write columns
        for (int64_t j = 0; j < cols; ++j) {
          const float* source = base_ + column[j];
          for (int64_t k = 0; k < K_; ++k) panel[k * NR + j] = source[k];
        }
      } else if (column[cols - 1] - column[0] == cols - 1) {  // one contiguous run per k
        for (int64_t k = 0; k < K_; ++k) std::memcpy(panel + k * NR, base_ + k * k_stride_ + column[0], cols * sizeof(float));
      } else {
        for (int64_t k = 0; k < K_; ++k)
          for (int64_t j = 0; j < cols; ++j) panel[k * NR + j] = base_[k * k_stride_ + column[j]];
      }
      for (int64_t k = 0; k < K_; ++k) std::fill(panel + k * NR + cols, panel + (k + 1) * NR, 0.0f);
    }
  }

  int64_t depth() const { return K_; }
  int64_t columns() const { return N_; }
  int64_t count() const { return count_; }
  const float* panel(int64_t p) const { return data_.get() + p * K_ * NR; }
  const float* bias(int64_t p) const { return bias_.empty() ? nullptr : bias_.data() + p * NR; }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  int64_t K_ = 0, N_ = 0, count_ = 0;
  const float* base_ = nullptr;
  int64_t k_stride_ = 0;
  std::vector<int64_t> column_;
  std::vector<float> bias_;
  std::unique_ptr<float, Free> data_;
};

// C[0:R, 0:NR] = bias + A[0:R, 0:K] @ panel, A with row stride lda, C with row stride ldc.
template <int64_t R>
inline void tile(int64_t K, const float* A, int64_t lda, const float* panel, const float* bias, float* C,
                 int64_t ldc) {
  const vec start0 = bias ? *reinterpret_cast<const vec_u*>(bias) : vec{};
  const vec start1 = bias ? *reinterpret_cast<const vec_u*>(bias + VW) : vec{};
  vec acc[R][2];
#pragma GCC unroll 16
  for (int64_t r = 0; r < R; ++r) {
    acc[r][0] = start0;
    acc[r][1] = start1;
  }
  for (int64_t k = 0; k < K; ++k) {
    const vec b0 = *reinterpret_cast<const vec*>(panel + k * NR);
    const vec b1 = *reinterpret_cast<const vec*>(panel + k * NR + VW);
#pragma GCC unroll 16
    for (int64_t r = 0; r < R; ++r) {
      const float a = A[r * lda + k];
      acc[r][0] += a * b0;
      acc[r][1] += a * b1;
    }
  }
#pragma GCC unroll 16
  for (int64_t r = 0; r < R; ++r) {
    *reinterpret_cast<vec_u*>(C + r * ldc) = acc[r][0];
    *reinterpret_cast<vec_u*>(C + r * ldc + VW) = acc[r][1];
  }
}

// The tile for `rows` < R rows (the bottom edge), chosen at compile time.
template <int64_t R>
inline void tile_of(int64_t rows, int64_t K, const float* A, int64_t lda, const float* panel, const float* bias,
                    float* C, int64_t ldc) {
  if constexpr (R > 1) {
    if (rows < R) return tile_of<R - 1>(rows, K, A, lda, panel, bias, C, ldc);
  }
  tile<R>(K, A, lda, panel, bias, C, ldc);
}

// C (M x N, row stride ldc) = bias + A (M x K, row stride lda) @ B.
// Rows go in blocks of MB = 8 tiles: a block of A stays in L2 while every panel passes through L1.
inline void gemm(int64_t M, const float* A, int64_t lda, const Panels& B, float* C, int64_t ldc) {
  constexpr int64_t MB = 8 * MR;
  const int64_t K = B.depth(), N = B.columns();
  alignas(64) float edge[MR * NR];  // the right edge's tile, before its valid columns are copied out
  for (int64_t i0 = 0; i0 < M; i0 += MB) {
    const int64_t i1 = std::min(M, i0 + MB);
    for (int64_t p = 0; p < B.count(); ++p) {
      const int64_t j0 = p * NR, cols = std::min(NR, N - j0);
      for (int64_t i = i0; i < i1; i += MR) {
        const int64_t rows = std::min(MR, i1 - i);
        if (cols == NR) {
          tile_of<MR>(rows, K, A + i * lda, lda, B.panel(p), B.bias(p), C + i * ldc + j0, ldc);
        } else {
          tile_of<MR>(rows, K, A + i * lda, lda, B.panel(p), B.bias(p), edge, NR);
          for (int64_t r = 0; r < rows; ++r) std::memcpy(C + (i + r) * ldc + j0, edge + r * NR, cols * sizeof(float));
        }
      }
    }
  }
}

}  // namespace packed
