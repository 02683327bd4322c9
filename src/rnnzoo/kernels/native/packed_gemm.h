// rnnzoo's float32 GEMM, for every product of the fused path: the recurrence's per-step products
// (C = A @ B with B packed once per call), the input projection and its input gradient (matmul.cpp),
// and the weight gradients S^T @ B, whose depth is batch x time (gemm_tn_parallel).
//
// Every step of a recurrence multiplies a few dozen rows (h_{t-1}, or dZ_t going back) by the
// same recurrent kernel, T times over. A library sgemm packs that kernel again on every call and,
// for such short products, spends much of its time in dispatch and packing (perf shows it far below
// its speed on a large square product). Here B is packed ONCE per
// layer call into column panels of NR floats (k-major inside a panel, the last one zero-padded),
// and each product runs a register-blocked micro-kernel: an MR x NR tile of C lives in vector
// registers while k runs over the whole depth, one rank-1 update per k,
//
//     C[i, j0:j0+NR] += A[i, k] * B[k, j0:j0+NR]      for the tile's MR rows i.
//
// Written with GCC vector extensions so that -march=native picks the instructions: AVX-512 (16
// floats a register, 8 x 32 tile = 16 accumulators of the 32 registers) or AVX2 (8 floats, 6 x 16).
// A tile of 1 to 3 rows spans 2 or 4 panels instead (side_by_side, few_rows_tile).

#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include <omp.h>
#include <unistd.h>

#include "denormals.h"
#include "sharing.h"

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

// n floats (at least one), 64-byte aligned, uninitialised.
struct Free {
  bool owned = true;  // false: the floats are someone else's (Panels given its storage)
  void operator()(float* p) const {
    if (owned) std::free(p);
  }
};
using Floats = std::unique_ptr<float[], Free>;
inline Floats aligned_floats(int64_t n) {
  const size_t bytes = static_cast<size_t>(std::max<int64_t>(1, n)) * sizeof(float);
  Floats data(static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
  if (!data) throw std::bad_alloc();
  return data;
}

// to[0:n] = from[0:n] for n <= W floats. A full row (n == W, nearly always) is one copy of a size
// known at compile time, which becomes a few vector moves: packing copies rows of NR or MR floats,
// and a call to memcpy for each cost more than the copy itself.
template <int64_t W>
inline void copy_row(float* to, const float* from, int64_t n) {
  if (n == W)
    std::memcpy(to, from, W * sizeof(float));
  else
    std::memcpy(to, from, n * sizeof(float));
}

// Rows given by pointers: row k's first `split` columns at left[k], the rest at right[k] (right[k][0]
// is column split). One part (split past every column) is a matrix whose rows lie anywhere (the
// weight gradients' are rows of a (B, T, ·) tensor); two are GRU's recurrent-product gradient, whose
// z and r blocks are dxp's and whose reset-gated h~ block is kept apart.
struct SplitRows {
  const float* const* left = nullptr;
  int64_t split = INT64_MAX;
  const float* const* right = nullptr;
};

// B (K x N) as ceil(N / NR) panels of K x NR floats, 64-byte aligned, where
//
//     B[k, j] = base[k * k_stride + column[j]]      or, given row pointers,  row k's column[j]
//
// so the columns may be gathered from anywhere (the same units of several gates; a transposed
// matrix when k_stride is 1; rows picked out of a larger matrix) without an intermediate copy.
// The constructor only allocates (or takes `storage`, size() floats 64-byte aligned, which may
// hold the panels already); `fill` copies the panels, in shares so that the threads that will use
// them can pack together.
class Panels {
 public:
  Panels() = default;
  // bias (N floats, or nullptr): added to every row of C, as the products' starting value.
  Panels(int64_t K, const float* base, int64_t k_stride, std::vector<int64_t> column, const float* bias = nullptr,
         float* storage = nullptr)
      : K_(K), N_(static_cast<int64_t>(column.size())), count_((N_ + NR - 1) / NR), base_(base),
        k_stride_(k_stride), column_(std::move(column)) {
    allocate(bias, storage);
  }
  // The floats the panels of a K x N matrix take.
  static int64_t size(int64_t K, int64_t N) { return (N + NR - 1) / NR * K * NR; }
  // B's rows as `rows` points to them, from row `first` on (not copied: they must outlive fill()).
  Panels(int64_t K, const SplitRows& rows, int64_t first, std::vector<int64_t> column, float* storage = nullptr)
      : K_(K), N_(static_cast<int64_t>(column.size())), count_((N_ + NR - 1) / NR), rows_(rows), first_(first),
        column_(std::move(column)) {
    allocate(nullptr, storage);
  }

  // Packs panels first, first + step, ... (thread `first` of a team of `step`). B is read a row at a
  // time, front to back, into every panel of the share: B's rows may lie anywhere (the weight
  // gradients' are rows of a (B, T, ·) tensor), and reading each panel's few floats from every row
  // in turn would leave the hardware prefetchers no stream to follow.
  void fill(int64_t first, int64_t step) {
    if (rows_.left == nullptr && k_stride_ == 1) {  // B transposed: column j of B is a row of the source
      // In runs of KT rows of the panel, which stay in L1 while each of the panel's source rows gives
      // its KT floats: written a column at a time over the whole depth, every store missed L1.
      constexpr int64_t KT = 16;
      for (int64_t p = first; p < count_; p += step) {
        float* panel = data_.get() + p * K_ * NR;
        const int64_t j0 = p * NR, cols = std::min(NR, N_ - j0);
        for (int64_t k0 = 0; k0 < K_; k0 += KT) {
          const int64_t k1 = std::min(K_, k0 + KT);
          for (int64_t j = 0; j < cols; ++j) {
            const float* source = base_ + column_[j0 + j];
            for (int64_t k = k0; k < k1; ++k) panel[k * NR + j] = source[k];
          }
        }
        for (int64_t k = 0; k < K_; ++k) std::fill(panel + k * NR + cols, panel + (k + 1) * NR, 0.0f);
      }
      return;
    }
    const int64_t split = rows_.split;  // row k's columns from there on are right[k]'s
    for (int64_t k = 0; k < K_; ++k) {
      const float* left = row(k);
      const float* right = rows_.right != nullptr ? rows_.right[first_ + k] : nullptr;
      auto at = [&](int64_t c) { return c < split ? left + c : right + (c - split); };
      for (int64_t p = first; p < count_; p += step) {
        float* to = data_.get() + (p * K_ + k) * NR;
        const int64_t j0 = p * NR, cols = std::min(NR, N_ - j0);
        const int64_t* column = column_.data() + j0;
        if (column[cols - 1] - column[0] == cols - 1 && (column[cols - 1] < split || column[0] >= split))
          copy_row<NR>(to, at(column[0]), cols);  // one contiguous run, on one side of the split
        else
          for (int64_t j = 0; j < cols; ++j) to[j] = *at(column[j]);
        std::fill(to + cols, to + NR, 0.0f);
      }
    }
  }

  int64_t depth() const { return K_; }
  int64_t columns() const { return N_; }
  int64_t count() const { return count_; }
  const float* panel(int64_t p) const { return data_.get() + p * K_ * NR; }
  const float* bias(int64_t p) const { return bias_.empty() ? nullptr : bias_.data() + p * NR; }

 private:
  void allocate(const float* bias, float* storage) {
    data_ = storage != nullptr ? Floats(storage, Free{false}) : aligned_floats(size(K_, N_));
    if (bias != nullptr) {
      bias_.assign(count_ * NR, 0.0f);  // zero-padded like the last panel
      std::copy(bias, bias + N_, bias_.begin());
    }
  }
  const float* row(int64_t k) const { return rows_.left != nullptr ? rows_.left[first_ + k] : base_ + k * k_stride_; }

  int64_t K_ = 0, N_ = 0, count_ = 0;
  const float* base_ = nullptr;
  int64_t k_stride_ = 0;
  SplitRows rows_;
  int64_t first_ = 0;
  std::vector<int64_t> column_;
  std::vector<float> bias_;
  Floats data_;
};

// Where a tile's values of A come from: A(r, k) = column(k)[r * stride] for the tile's rows r.
struct RowsOf {  // A row-major (row stride lda), the tile's first row at `first`: the products C = A @ B
  const float* first;
  int64_t lda;
  const float* column(int64_t k) const { return first + k; }
  int64_t stride() const { return lda; }
};
struct Strip {  // one tile's rows of A packed k-major: A(r, k) = a[k * MR + r] (the weight gradients' strips of S^T)
  const float* a;
  const float* column(int64_t k) const { return a + k * MR; }
  static constexpr int64_t stride() { return 1; }
};

// Where a tile's columns of B come from: B(k, h·VW .. (h + 1)·VW) = half(k, h), h = 0, 1 (NR columns),
// or up to 2·G - 1 for a tile of G panels' columns.
struct Packed {  // a panel of Panels: k-major rows of NR floats, 64-byte aligned
  const float* panel;
  vec half(int64_t k, int64_t h) const { return *reinterpret_cast<const vec*>(panel + k * NR + h * VW); }
};
struct Beside {  // panels side by side, `stride` floats apart (their columns follow one another)
  const float* panel;
  int64_t stride;
  vec half(int64_t k, int64_t h) const {
    return *reinterpret_cast<const vec*>(panel + h / 2 * stride + k * NR + h % 2 * VW);
  }
};
struct InPlace {  // B where it lies: the tile's first column of row k at first + k * ldb
  const float* first;
  int64_t ldb;
  vec half(int64_t k, int64_t h) const { return *reinterpret_cast<const vec_u*>(first + k * ldb + h * VW); }
};

// Cache lines a tile asks for while it computes (`lines` lines from `first` on): its share of the
// part of B that the tiles after it read next (see gemm).
struct Ahead {
  const float* first = nullptr;
  int64_t lines = 0;
};

// C[0:R, 0:H·VW] = start + A[0:R, 0:K] @ B[0:K, 0:H·VW], C with row stride ldc; start = C's own
// values (accumulate), else the bias row (or zero). H = 2: NR columns, one panel.
template <int64_t R, typename Source, typename Columns, int64_t H = 2>
inline void tile(int64_t K, const Source& A, const Columns& B, const float* bias, bool accumulate, float* C,
                 int64_t ldc, Ahead ahead = {}) {
  vec start[H];
#pragma GCC unroll 16
  for (int64_t h = 0; h < H; ++h) start[h] = bias ? *reinterpret_cast<const vec_u*>(bias + h * VW) : vec{};
  vec acc[R][H];
#pragma GCC unroll 16
  for (int64_t r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int64_t h = 0; h < H; ++h)
      acc[r][h] = accumulate ? *reinterpret_cast<const vec_u*>(C + r * ldc + h * VW) : start[h];
  auto update = [&](int64_t k) __attribute__((always_inline)) {  // one rank-1 update
    vec b[H];
#pragma GCC unroll 16
    for (int64_t h = 0; h < H; ++h) b[h] = B.half(k, h);
    const float* a = A.column(k);
#pragma GCC unroll 16
    for (int64_t r = 0; r < R; ++r) {
      const float x = a[r * A.stride()];
#pragma GCC unroll 16
      for (int64_t h = 0; h < H; ++h) acc[r][h] += x * b[h];
    }
  };
  // Unrolled: four rank-1 updates per loop turn, so the loop's own instructions take fewer of the
  // issue slots the FMAs need. With lines to ask for, one request every K / lines updates. Either
  // way the same operations in the same order: the same bits.
  if (ahead.lines == 0) {
#pragma GCC unroll 4
    for (int64_t k = 0; k < K; ++k) update(k);
  } else {
    const int64_t every = std::max<int64_t>(1, K / ahead.lines);
    int64_t k = 0;
    for (int64_t line = 0; line < ahead.lines && k < K; ++line) {
      __builtin_prefetch(ahead.first + line * 16, 0, 2);  // 16 floats: one 64-byte line
      const int64_t end = std::min(K, k + every);
#pragma GCC unroll 4
      for (; k < end; ++k) update(k);
    }
#pragma GCC unroll 4
    for (; k < K; ++k) update(k);
  }
#pragma GCC unroll 16
  for (int64_t r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int64_t h = 0; h < H; ++h) *reinterpret_cast<vec_u*>(C + r * ldc + h * VW) = acc[r][h];
}

template <int64_t R, typename Source, typename Columns>
inline void tile_of(int64_t rows, int64_t K, const Source& A, const Columns& B, const float* bias, bool accumulate,
                    float* C, int64_t ldc, Ahead ahead = {}) {  // the tile for `rows` <= R rows, chosen at compile time
  if constexpr (R > 1) {
    if (rows < R) return tile_of<R - 1>(rows, K, A, B, bias, accumulate, C, ldc, ahead);
  }
  tile<R>(K, A, B, bias, accumulate, C, ldc, ahead);
}

// A tile of one row holds 2 sums, of 2 rows 4, of 3 rows 6, while the two FMA ports, 4 cycles deep,
// keep 8 in flight: each update would wait on the one before. Such a tile spans side_by_side(rows)
// panels instead (8 or 12 sums), whose columns follow one another in C and in the bias. Each sum
// still runs over k in the same order: the same bits as one panel at a time. (AVX2's 16 registers
// can't hold 3 rows' 12 sums beside the 4 halves of B they read, so there 3 rows stay in one panel.)
constexpr int64_t side_by_side(int64_t rows) { return rows == 1 ? 4 : rows == 2 || (rows == 3 && VW == 16) ? 2 : 1; }

// C[0:rows, 0:side_by_side(rows)·NR] where that is more than one panel; B's columns from `Columns`
// (Beside, InPlace).
template <typename Columns>
inline void few_rows_tile(int64_t rows, int64_t K, const RowsOf& A, const Columns& B, const float* bias,
                          bool accumulate, float* C, int64_t ldc) {
  if (rows == 1) return tile<1, RowsOf, Columns, 2 * side_by_side(1)>(K, A, B, bias, accumulate, C, ldc);
  if (rows == 2) return tile<2, RowsOf, Columns, 2 * side_by_side(2)>(K, A, B, bias, accumulate, C, ldc);
  if constexpr (side_by_side(3) > 1) tile<3, RowsOf, Columns, 2 * side_by_side(3)>(K, A, B, bias, accumulate, C, ldc);
}

// One tile of `rows` <= MR rows and `cols` <= NR columns: the right edge goes through a full tile.
template <typename Source>
inline void edge_tile(int64_t rows, int64_t cols, int64_t K, const Source& A, const float* panel, const float* bias,
                      bool accumulate, float* C, int64_t ldc, Ahead ahead = {}) {
  if (cols == NR) return tile_of<MR>(rows, K, A, Packed{panel}, bias, accumulate, C, ldc, ahead);
  alignas(64) float edge[MR * NR];  // the right edge: C's valid columns in and out of a full tile
  if (accumulate)
    for (int64_t r = 0; r < rows; ++r) std::memcpy(edge + r * NR, C + r * ldc, cols * sizeof(float));
  tile_of<MR>(rows, K, A, Packed{panel}, bias, accumulate, edge, NR);
  for (int64_t r = 0; r < rows; ++r) std::memcpy(C + r * ldc, edge + r * NR, cols * sizeof(float));
}

// The rows of the next tile of a block that has `rest` rows left: MR, but a rest of one tile and 1
// to 3 rows goes in two tiles of about half each. A tile of 1 to 3 rows holds 2 to 6 sums, fewer
// than the two FMA ports keep in flight (8), and each of its updates waits on the one before: a
// thread's 32 rows as 6 + 6 + 6 + 6 + 4 + 4 instead of 6 + 6 + 6 + 6 + 6 + 2 (AVX2) take 32 of the
// FMA ports' cycles per k instead of 34. A row's sums run in the same order in any tile.
constexpr int64_t tile_rows(int64_t rest) { return rest > MR && rest < MR + 4 ? (rest + 1) / 2 : std::min(MR, rest); }

// C (M x N, row stride ldc) = bias + A (M x K, row stride lda) @ B, or (accumulate) C + A @ B.
// Rows go in blocks of MB = 8 tiles: a block of A stays in L2 while every panel passes through L1.
// A deep product goes in passes over at most KD rows of each panel, each pass adding to C what the
// last left (the same sums in the same order): a panel of more than KD rows no longer fits L1 next
// to the tile's rows of A, and every tile of a block would read it again from L2. The passes run
// inside each panel (the block of A read again for every panel) or around all panels (the block
// of C read again for every pass), whichever of the two is smaller.
// Panels of more than STREAM_BYTES in all (the blocks of a recurrent kernel too large for a core's
// L2, read again from L3 at every step): the block's tiles each ask for a share of the panel (part)
// that comes next, so that it is on its way from L3 before the first tile that reads it starts.
// Panels that stay in L2 come in time without it, and there the requests only took issue slots
// (docs/kernel-notes.md).
constexpr int64_t KD = 256;
constexpr int64_t STREAM_BYTES = int64_t{1} << 20;

inline void gemm(int64_t M, const float* A, int64_t lda, const Panels& B, float* C, int64_t ldc,
                 bool accumulate = false) {
  constexpr int64_t MB = 8 * MR;
  const int64_t N = B.columns(), K = B.depth(), passes = std::max<int64_t>(1, (K + KD - 1) / KD);
  const int64_t depth = std::max<int64_t>(1, (K + passes - 1) / passes);
  const bool stream = B.count() * K * NR * static_cast<int64_t>(sizeof(float)) > STREAM_BYTES;
  auto part = [&](int64_t p, int64_t pass) { return B.panel(p) + pass * depth * NR; };  // rows pass·depth ..
  for (int64_t i0 = 0; i0 < M; i0 += MB) {
    const int64_t i1 = std::min(M, i0 + MB), tiles = (i1 - i0 + MR - 1) / MR;  // tile_rows keeps this count
    // The block's tiles of panel p's part `pass`, each asking for its share of `next` (or nullptr).
    auto run = [&](int64_t p, int64_t pass, const float* next) {
      const int64_t j0 = p * NR, k0 = pass * depth, rows = std::min(depth, K - k0);
      const int64_t share = stream && next ? (rows * NR / 16 + tiles - 1) / tiles : 0;  // lines a tile
      for (int64_t i = i0, n = 0, height; i < i1; i += height, ++n) {
        height = tile_rows(i1 - i);
        edge_tile(height, std::min(NR, N - j0), rows, RowsOf{A + i * lda + k0, lda},
                  part(p, pass), B.bias(p), accumulate || pass > 0, C + i * ldc + j0, ldc,
                  share > 0 ? Ahead{next + n * share * 16, share} : Ahead{});
      }
    };
    // A block of 1 to 3 rows runs its full panels `side` at a time (few_rows_tile; these tiles don't
    // ask for what comes next), the rest one at a time: panels [beside, last].
    const int64_t side = side_by_side(i1 - i0), beside = side > 1 ? N / NR / side * side : 0;
    auto run_beside = [&](int64_t p, int64_t pass) {
      const int64_t k0 = pass * depth;
      few_rows_tile(i1 - i0, std::min(depth, K - k0), RowsOf{A + i0 * lda + k0, lda}, Beside{part(p, pass), K * NR},
                    B.bias(p), accumulate || pass > 0, C + i0 * ldc + p * NR, ldc);
    };
    const int64_t last = B.count() - 1;
    if (K <= N) {
      for (int64_t p = 0; p < beside; p += side)
        for (int64_t pass = 0; pass < passes; ++pass) run_beside(p, pass);
      for (int64_t p = beside; p <= last; ++p)
        for (int64_t pass = 0; pass < passes; ++pass)
          run(p, pass, pass + 1 < passes ? part(p, pass + 1) : p < last ? part(p + 1, 0) : nullptr);
    } else {
      for (int64_t pass = 0; pass < passes; ++pass) {
        for (int64_t p = 0; p < beside; p += side) run_beside(p, pass);
        for (int64_t p = beside; p <= last; ++p)
          run(p, pass, p < last ? part(p + 1, pass) : pass + 1 < passes ? part(beside, pass + 1) : nullptr);
      }
    }
  }
}

// C (M x N, row stride ldc) = bias + A (M x K, row stride lda) @ B, B (K x N, N a multiple of NR)
// read where it lies, its rows ldb floats apart. For a product that reads B once (a single step,
// one tile of rows): packing B would read all of it to write it out again, for one pass of the
// tiles over the copy. The same tiles over the same values: the same bits as gemm.
inline void gemm_in_place(int64_t M, const float* A, int64_t lda, int64_t K, const float* B, int64_t ldb, int64_t N,
                          const float* bias, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; i += MR) {
    const int64_t rows = std::min(MR, M - i), width = side_by_side(rows) * NR;
    int64_t j = 0;
    if (width > NR)  // a tile of 1 to 3 rows: several panels' width at a time, as gemm does
      for (; j + width <= N; j += width)
        few_rows_tile(rows, K, RowsOf{A + i * lda, lda}, InPlace{B + j, ldb}, bias ? bias + j : nullptr, false,
                      C + i * ldc + j, ldc);
    for (; j < N; j += NR)
      tile_of<MR>(rows, K, RowsOf{A + i * lda, lda}, InPlace{B + j, ldb}, bias ? bias + j : nullptr, false,
                  C + i * ldc + j, ldc);
  }
}

// sums[j] (+)= the sum over k of B[k, j], for the packed block's columns (first: start from zero).
// Each sum runs on from the previous block's value, so it adds the rows in the same order however
// the rows are cut into blocks (and the block depth follows the thread's share of the columns).
inline void add_column_sums(const Panels& block, float* sums, bool first) {
  for (int64_t p = 0; p < block.count(); ++p) {
    const float* panel = block.panel(p);
    const int64_t cols = std::min(NR, block.columns() - p * NR);
    alignas(64) float total[NR] = {};
    if (!first) std::memcpy(total, sums + p * NR, cols * sizeof(float));
    vec total0 = *reinterpret_cast<const vec*>(total), total1 = *reinterpret_cast<const vec*>(total + VW);
    for (int64_t k = 0; k < block.depth(); ++k) {
      total0 += *reinterpret_cast<const vec*>(panel + k * NR);
      total1 += *reinterpret_cast<const vec*>(panel + k * NR + VW);
    }
    *reinterpret_cast<vec*>(total) = total0;
    *reinterpret_cast<vec*>(total + VW) = total1;
    std::memcpy(sums + p * NR, total, cols * sizeof(float));
  }
}

// The weight gradients C = S^T @ B for S (K x M) and B (K x N) with rows as s_rows and b_rows give
// them (S's row in two parts: the recurrent and the input kernels' gradients in one product), whose
// depth K is batch x time, in blocks of KC rows. A block packs its columns of B into panels (KC x NR
// floats each) and S^T into strips of MR rows (KC x MR floats each, k-major), so that one strip and
// one panel, all a tile reads, sit together in L1 (32 KiB): a panel stays
// there while every strip of the block passes from L2 (a strip is a quarter of a panel's size, so
// this order moves the fewest bytes from L2; gemm_tn_parallel says when the tiles go strip by strip
// instead), and the block's product is added to the sums so far.
// Reading S^T in place instead takes MR floats from each of KC rows, KC cache lines a tile, more
// than L1 holds next to a panel.
constexpr int64_t KC = (24 << 10) / ((MR + NR) * sizeof(float)) / 16 * 16;  // a strip + a panel: 3/4 of L1

// A core's L2 in bytes, as the system reports it (0 where it doesn't).
inline int64_t l2_bytes() {
  static const int64_t bytes = std::max<int64_t>(0, sysconf(_SC_LEVEL2_CACHE_SIZE));
  return bytes;
}

// Rows k0 .. k0 + depth of the product for columns n0 .. n1 (n0 on a panel's edge), added into
// `sum` (M x N, row stride lds; set by the first block); strips and panels: room for a block's.
// sums (or nullptr) receives B's column sums the same way — a bias gradient, taken from the packed
// blocks while they sit in L2 instead of another pass over B. The tiles write the columns up to n1
// only: `sum` may be C itself. along_rows: the tiles strip by strip, else panel by panel.
inline void gemm_tn_block(int64_t M, int64_t k0, int64_t depth, bool first, const SplitRows& s_rows,
                          const SplitRows& b_rows, int64_t n0, int64_t n1, float* strips, float* panels, float* sum,
                          int64_t lds, float* sums, bool along_rows) {
  const int64_t width = n1 - n0, count = (width + NR - 1) / NR, tiles = (M + MR - 1) / MR;
  std::vector<int64_t> column(width);
  for (int64_t j = 0; j < width; ++j) column[j] = n0 + j;
  Panels block(depth, b_rows, k0, std::move(column), panels);
  block.fill(0, 1);
  if (sums != nullptr) add_column_sums(block, sums + n0, first);
  const int64_t split = s_rows.split;  // S's columns from there on are right[k]'s
  for (int64_t k = 0; k < depth; ++k) {  // strip i: S^T rows i·MR.., (k, r) at i·depth·MR + k·MR + r
    const float* left = s_rows.left[k0 + k];
    const float* right = s_rows.right != nullptr ? s_rows.right[k0 + k] : nullptr;
    for (int64_t i = 0; i < tiles; ++i) {
      float* out = strips + (i * depth + k) * MR;
      const int64_t c0 = i * MR, rows = std::min(MR, M - c0);
      if (c0 + rows <= split)
        copy_row<MR>(out, left + c0, rows);
      else if (c0 >= split)
        copy_row<MR>(out, right + (c0 - split), rows);
      else  // the strip that straddles the two parts
        for (int64_t r = 0; r < rows; ++r) out[r] = c0 + r < split ? left[c0 + r] : right[c0 + r - split];
      std::fill(out + rows, out + MR, 0.0f);
    }
  }
  auto tile = [&](int64_t p, int64_t i) {
    edge_tile(std::min(MR, M - i * MR), std::min(NR, width - p * NR), depth, Strip{strips + i * depth * MR},
              block.panel(p), nullptr, !first, sum + i * MR * lds + n0 + p * NR, lds);
  };
  if (along_rows)
    for (int64_t i = 0; i < tiles; ++i)
      for (int64_t p = 0; p < count; ++p) tile(p, i);
  else
    for (int64_t p = 0; p < count; ++p)
      for (int64_t i = 0; i < tiles; ++i) tile(p, i);
}

// C (M x N, row stride ldc) = S^T @ B, and B's column sums into sums (or nullptr), by the threads
// of one OpenMP team. The depth is cut into tn_parts(K) parts, each summed on its own and the parts
// added at the end: with two cores each runs a part, packing only its part of S and of B (cut by
// columns instead, every thread packed all of S for its share of B's columns). A part's work is
// shared out as panels: each share owns some of a part's panels, which it runs block of depth
// after block, and one done with its own takes the later panels of a slower one's for the blocks
// that one has not started (sharing.h). A column's blocks add up in the same order whoever runs
// them, and the parts in the order of their depth; the number of parts follows the depth alone, so
// the result does not depend on the number of threads. A part's sums go into a buffer whose rows
// are whole panels and one cache line apart, so that a tile's rows fall in different sets of L1
// (C's own rows are often a multiple of 4 KiB apart, 1024 columns, which put all of a tile's rows
// in one set, where they evicted each other at every block). A product of a single block (depth up
// to KC: a step or a few of a small batch) writes C once, so there its tiles write C itself: for
// such a product, writing C is most of the work.
inline int64_t tn_parts(int64_t K) { return K >= 2 * KC ? 2 : 1; }

inline void gemm_tn_parallel(int64_t threads, int64_t M, int64_t K, const SplitRows& s_rows,
                             const SplitRows& b_rows, int64_t N, float* C, int64_t ldc, float* sums = nullptr) {
  const int64_t panels = (N + NR - 1) / NR;
  if (panels == 0) return;  // no columns: nothing to compute
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    if (sums != nullptr) std::fill(sums, sums + N, 0.0f);
    return;
  }
  const int64_t parts = tn_parts(K), part_rows = (K + parts - 1) / parts;
  const int64_t blocks = (part_rows + KC - 1) / KC;  // per part (the last part's last may be short or empty)
  const int64_t per_part = std::clamp<int64_t>((threads + parts - 1) / parts, 1, panels);  // shares
  const int64_t tiles = (M + MR - 1) / MR;
  const bool direct = parts == 1 && blocks == 1;
  const int64_t lds = direct ? ldc : panels * NR + 16;
  const Floats sum = direct ? Floats(C, Free{false}) : aligned_floats(parts * tiles * MR * lds);
  const Floats part_sums = sums != nullptr && parts > 1 ? aligned_floats(parts * panels * NR) : Floats();
  const int64_t share = (panels + per_part - 1) / per_part;
  // Panel by panel, each panel staying in L1 while all the strips pass from L2, moves the fewest
  // bytes from L2; but each tile then reads and writes MR rows of the sums somewhere else, and the
  // sums (2 MiB for a 512 x 1024 product) come back from L3 tile by tile. Where a full block's
  // panels and strips fit in half of L2, strip by strip instead: the tiles go along MR rows of the
  // sums, streams that the prefetchers follow, and read the panels from L2. Decided once for the
  // product, so that every block of it runs the same way.
  const int64_t block_bytes = (share * NR + tiles * MR) * std::min(KC, part_rows) * static_cast<int64_t>(sizeof(float));
  const bool along_rows = block_bytes <= l2_bytes() / 2;
  std::vector<sharing::Share> shares(parts * per_part);  // share q·per_part + s: part q's s-th panels
  for (int64_t k = 0; k < parts * per_part; ++k) {
    const int64_t s = k % per_part;  // fewer than 2 panels are not worth taking
    shares[k].own(std::min(panels, s * share), std::min(panels, (s + 1) * share), 1, 2, 1);
  }
  const int64_t team_size = std::min<int64_t>(std::max<int64_t>(1, threads), parts * per_part);
#pragma omp parallel num_threads(team_size)
  {
    FlushDenormals flush;
    const int64_t me = omp_get_thread_num(), team = omp_get_num_threads();
    const Floats strips = aligned_floats(tiles * MR * std::min(K, KC));
    const Floats room = aligned_floats(Panels::size(std::min(K, KC), share * NR));  // a run spans one share at most
    auto run = [&](int64_t k, int64_t p0, int64_t p1, int64_t b) {  // block b of share k's part, panels p0 .. p1
      const int64_t q = k / per_part, k0 = q * part_rows + b * KC;
      const int64_t depth = std::min({KC, K - k0, (q + 1) * part_rows - k0});
      if (depth <= 0) return;
      const int64_t n0 = p0 * NR, n1 = std::min(N, p1 * NR);
      float* part_sum = sum.get() + q * tiles * MR * lds;
      float* column_sums = parts > 1 && sums != nullptr ? part_sums.get() + q * panels * NR : sums;
      gemm_tn_block(M, k0, depth, b == 0, s_rows, b_rows, n0, n1, strips.get(), room.get(), part_sum, lds,
                    column_sums, along_rows);
      if (parts == 1 && b == blocks - 1 && !direct)  // the columns are complete
        for (int64_t i = 0; i < M; ++i)
          std::memcpy(C + i * ldc + n0, part_sum + i * lds + n0, (n1 - n0) * sizeof(float));
    };
    sharing::share_work(shares, me, team, blocks, run);
    if (parts > 1) {  // C = the parts' sums, added in order
#pragma omp barrier
#pragma omp for schedule(static)
      for (int64_t i = 0; i < M; ++i) {
        float* to = C + i * ldc;
        const float* from = sum.get() + i * lds;
        std::copy(from, from + N, to);
        for (int64_t q = 1; q < parts; ++q) {
          const float* more = from + q * tiles * MR * lds;
#pragma omp simd
          for (int64_t j = 0; j < N; ++j) to[j] += more[j];
        }
      }
#pragma omp single
      if (sums != nullptr) {
        std::copy(part_sums.get(), part_sums.get() + N, sums);
        for (int64_t q = 1; q < parts; ++q)
          for (int64_t j = 0; j < N; ++j) sums[j] += part_sums[q * panels * NR + j];
      }
    }
  }
}

}  // namespace packed
