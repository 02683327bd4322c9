// Fused CPU kernels for SimpleRNN, LSTM and GRU (reset_after): forward over time and hand BPTT.
//
// The projected inputs x_t W + b come either hoisted over all steps by the Python side
// (rnnzoo/kernels/fused.py), as `xp` (B, T, G·U), or, in float32, as x, W and b, each thread then
// computing its rows' x_t W + b every step right before h_{t-1} U (see LayerInputs). Both
// directions of the loop run inside ONE OpenMP parallel region, each thread owning a block of
// rows (sequences) × units (see `split_work`):
//   by rows   thread k runs sequences [b0, b1) through every unit. Sequences never meet inside
//             the loop, so the threads run all T steps without waiting for each other; each
//             multiplies its rows of h_{t-1} by the whole U. A thread done first takes over the
//             later rows of another's for the steps that one has yet to start (sharing.h).
//   by units  a block owns units [u0, u1) of every gate for all rows: it multiplies h_{t-1} by
//             its own packed columns of U and runs the pointwise cell on its units; one barrier
//             per step makes h_t complete before the next product. Each thread has a run of
//             blocks, and one done with its run takes blocks of another's it has not started
//             (Claims). Used when the batch is too small to give every thread enough rows, or U
//             too large for a core's cache.
// Backward is the mirror image: each thread turns dh_t of its block into dZ_t (written in place
// into a (B, T, ·) buffer), [a barrier, by units,] then computes its block of
// dh_{t-1} = dZ_t @ U^T [and by units another barrier, as a block may change threads]. dU, dW and
// dX are each one large GEMM after the loop, on whichever GEMM the Python side finds fastest for
// the shape (dU: recurrent_gradient here, or BLAS; dW and dX: the hoisted projection's backward),
// or, after an in-loop projection, dU and dW from one product here where that timed faster. Where
// every one of them runs on rnnzoo's GEMM, backward makes them before it returns (`gradients`).
// Products that are known to be zero or unused are skipped: from a zero initial state (what a layer
// starts from unless given one) the first step's h_0 @ U and h_0's rows of dU, and going back the
// last product, dZ_1 @ U^T, when h_0 needs no gradient (the usual case). That is 1/T of the
// recurrence's products.
// The per-step products run, in float32, on packed_gemm.h with U (or U^T) packed once per call,
// by the threads together, before the loop (a library sgemm called every step re-packs U each
// time), and at inference kept for the next call on the same weights (Kept); float64 calls at::mm.
//
// Layout: the outputs Y (B, T, U) hold h_1 .. h_T batch-major, as the caller and the next layer
// take them (h_0 is the caller's; Y may be the caller's buffer, a window of a longer sequence); the
// per-step products read h_{t-1} rows T·U apart, and dU reads them in place. LSTM's C (T+1, B, U;
// 2 rows at inference) is internal; only c_T leaves. Backward takes the gradients of Y and of the
// final states directly, so no (T+1, B, U) gradient is ever assembled.
// For the backward pass (save = true) the gates are stored after their activation in Keras' block
// order (LSTM i f c o; GRU z r h); without it (inference) they live only in per-thread scratch,
// which saves their memory traffic.
// Padded steps (t >= length) copy the state and save zero gates; their dZ rows are zero and dh
// passes through unchanged.
// Activation derivatives are taken from the activation's output y (tanh: 1 - y^2, sigmoid:
// y (1 - y), relu: y > 0, hard_sigmoid: 1/6 inside (0, 1), linear: 1), as torch's autograd does.

#include <ATen/ThreadLocalState.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ATen.h>  // not torch/extension.h: its C++ frontend's headers would dominate the build
#include <ATen/Parallel.h>
#include <immintrin.h>
#include <omp.h>

#include "denormals.h"
#include "matmul.h"
#include "packed_gemm.h"
#include "recurrent.h"
#include "sharing.h"

#include <atomic>
#include <exception>
#include <functional>
#include <optional>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace {

enum Activation : int64_t { LINEAR = 0, TANH = 1, SIGMOID = 2, RELU = 3, HARD_SIGMOID = 4 };
enum Kind : int64_t { SIMPLE = 0, LSTM = 1, GRU = 2 };

// -- elementwise math. float: whole vectors of packed_gemm.h's width (VW floats), exp by a Cephes
// polynomial (~1 ulp), and the divisions of sigmoid and tanh as a reciprocal estimate refined by one
// Newton step (~1 ulp): a vector division issues once every 5 to 10 cycles on current cores and
// bounded these loops, where the estimate and its step take a cycle or two. double: libm.
using packed::vec;
using packed::vec_u;
using packed::VW;
typedef int32_t ivec __attribute__((vector_size(VW * sizeof(int32_t))));

inline vec fma_of(vec a, vec b, vec c) {  // a * b + c, rounded once
#if defined(__AVX512F__)
  return reinterpret_cast<vec>(_mm512_fmadd_ps(reinterpret_cast<__m512>(a), reinterpret_cast<__m512>(b),
                                               reinterpret_cast<__m512>(c)));
#else
  return reinterpret_cast<vec>(_mm256_fmadd_ps(reinterpret_cast<__m256>(a), reinterpret_cast<__m256>(b),
                                               reinterpret_cast<__m256>(c)));
#endif
}

inline vec reciprocal(vec d) {  // 1 / d: the estimate's error (2^-14, or 2^-12 with AVX2) squared
#if defined(__AVX512F__)
  const vec r = reinterpret_cast<vec>(_mm512_rcp14_ps(reinterpret_cast<__m512>(d)));
#else
  const vec r = reinterpret_cast<vec>(_mm256_rcp_ps(reinterpret_cast<__m256>(d)));
#endif
  return fma_of(r, fma_of(-d, r, vec{} + 1.0f), r);  // r + r (1 - d r)
}

inline vec clamp_of(vec x, float low, float high) {  // min(max(x, low), high); NaN stays NaN
  // maxps and minps return their second operand where either is NaN: x goes second.
#if defined(__AVX512F__)
  const __m512 above = _mm512_max_ps(_mm512_set1_ps(low), reinterpret_cast<__m512>(x));
  return reinterpret_cast<vec>(_mm512_min_ps(_mm512_set1_ps(high), above));
#else
  const __m256 above = _mm256_max_ps(_mm256_set1_ps(low), reinterpret_cast<__m256>(x));
  return reinterpret_cast<vec>(_mm256_min_ps(_mm256_set1_ps(high), above));
#endif
}

inline vec exp_of(vec x) {
  x = clamp_of(x, -87.0f, 88.0f);
  // n = round(x / ln 2), plus 127, lands in the low bits of `shifted` (1.5 * 2^23 + 127 + n: floats
  // that far up are whole numbers), so shifting its bits left by 23 makes the float 2^n without a
  // conversion. One rounding (fma): x / ln 2 is then never a tie for |x| <= 88.
  const vec shifted = fma_of(x, vec{} + 1.44269504088896341f, vec{} + 12583039.0f);
  const vec n = shifted - 12583039.0f;
  vec r = fma_of(n, vec{} - 0.693359375f, x);
  r = fma_of(n, vec{} + 2.12194440e-4f, r);
  vec p = vec{} + 1.9875691500e-4f;
  for (const float c : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    p = fma_of(p, r, vec{} + c);
  const vec y = fma_of(p * r, r, r) + 1.0f;
  return y * reinterpret_cast<vec>(reinterpret_cast<ivec>(shifted) << 23);  // y 2^n
}

inline vec sigmoid_of(vec x) { return reciprocal(1.0f + exp_of(-x)); }

inline vec tanh_of(vec x) {  // sign(x) (1 - e) / (1 + e), e = exp(-2 |x|)
  const ivec sign = reinterpret_cast<ivec>(x) & static_cast<int32_t>(0x80000000u);
  const vec e = exp_of(-2.0f * reinterpret_cast<vec>(reinterpret_cast<ivec>(x) ^ sign));
  return reinterpret_cast<vec>(reinterpret_cast<ivec>((1.0f - e) * reciprocal(1.0f + e)) | sign);
}

// x[0:n] <- f(x[0:n]), a vector at a time; the tail too goes through a whole vector, so that every
// float gets the same instructions wherever it falls in a row.
template <typename F>
void each_vector(float* x, int64_t n, const F& f) {
  int64_t j = 0;
  for (; j + VW <= n; j += VW) *reinterpret_cast<vec_u*>(x + j) = f(*reinterpret_cast<const vec_u*>(x + j));
  if (j < n) {
    alignas(64) float tail[VW] = {};
    std::memcpy(tail, x + j, (n - j) * sizeof(float));
    *reinterpret_cast<vec*>(tail) = f(*reinterpret_cast<const vec*>(tail));
    std::memcpy(x + j, tail, (n - j) * sizeof(float));
  }
}

template <typename T>
void activate(int64_t activation, T* x, int64_t n) {  // in place: x <- activation(x)
  if constexpr (std::is_same_v<T, float>) {
    if (activation == TANH) return each_vector(x, n, [](vec v) { return tanh_of(v); });
    if (activation == SIGMOID) return each_vector(x, n, [](vec v) { return sigmoid_of(v); });
  }
  switch (activation) {
    case LINEAR: return;
    case TANH:
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) x[j] = std::tanh(x[j]);
      return;
    case SIGMOID:
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) x[j] = T(1) / (T(1) + std::exp(-x[j]));
      return;
    case RELU:
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) x[j] = x[j] > T(0) ? x[j] : T(0);
      return;
    case HARD_SIGMOID:  // Keras 3: relu6(x + 3) / 6
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) x[j] = std::min(std::max(x[j] + T(3), T(0)), T(6)) / T(6);
      return;
  }
}

template <typename T>
void scale_by_derivative(int64_t activation, const T* y, T* d, int64_t n) {  // d <- d * act'(.) given y
  switch (activation) {
    case LINEAR: return;
    case TANH:
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) d[j] *= T(1) - y[j] * y[j];
      return;
    case SIGMOID:
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) d[j] *= y[j] * (T(1) - y[j]);
      return;
    case RELU:
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) d[j] = y[j] > T(0) ? d[j] : T(0);
      return;
    case HARD_SIGMOID:
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) d[j] = (y[j] > T(0) && y[j] < T(1)) ? d[j] / T(6) : T(0);
      return;
  }
}

// Asks the caches (L2) for n values from p, `write` if they are about to be written. A step's rows
// are T·U or T·G·U apart, each in pages of its own, where the hardware prefetchers start over:
// the pointwise code requests the rows a few sequences ahead of the one it is working on.
template <typename T>
inline void prefetch(const T* p, int64_t n, bool write) {
  const char* bytes = reinterpret_cast<const char*>(p);
  for (int64_t i = 0; i < n * static_cast<int64_t>(sizeof(T)); i += 64) {
    if (write)
      __builtin_prefetch(bytes + i, 1, 2);
    else
      __builtin_prefetch(bytes + i, 0, 2);
  }
}
constexpr int64_t ROWS_AHEAD = 2;

// The first exception raised on any thread of a parallel region; later work is skipped, but every
// thread keeps meeting the barriers so none waits forever. Rethrown once the region has ended.
struct Failure {
  std::atomic<bool> failed{false};
  std::exception_ptr error;
};

template <typename Work>
void guarded(Failure& failure, const Work& work) {
  if (failure.failed.load(std::memory_order_relaxed)) return;
  try {
    work();
  } catch (...) {
#pragma omp critical(rnnzoo_failure)
    {
      if (!failure.error) failure.error = std::current_exception();
    }
    failure.failed = true;
  }
}

// Runs body(thread, team, failure) in one OpenMP region with the caller's thread-local state (grad
// mode, inference mode, ...) on every thread, as at::parallel_for does; a team of one runs it right
// here, since opening a region and copying that state cost more than a small call's step (its
// barriers, outside a region, bind to a team of one).
template <typename Body>
void in_parallel(int64_t threads, const Body& body) {
  Failure failure;
  if (threads == 1) {
    FlushDenormals flush;
    body(0, 1, failure);
  } else {
    at::ThreadLocalState state;
#pragma omp parallel num_threads(threads)
    {
      at::ThreadLocalStateGuard guard(state);
      FlushDenormals flush;
      body(static_cast<int64_t>(omp_get_thread_num()), static_cast<int64_t>(omp_get_num_threads()), failure);
    }
  }
  if (failure.error) std::rethrow_exception(failure.error);
}

int64_t gates_of(int64_t kind) { return kind == LSTM ? 4 : kind == GRU ? 3 : 1; }

// True when the initial state h_0 is all zeros, as it is unless the caller passes one: its product
// h_0 @ U is then zero (for any finite U), and so are its rows' terms in dU = sum_t h_{t-1}^T dZ_t.
template <typename T>
bool starts_from_zero(const at::Tensor& h0) {  // h0 contiguous
  const T* h = h0.data_ptr<T>();
  return std::all_of(h, h + h0.numel(), [](T v) { return v == T(0); });
}

// One thread's share of a step: rows [b0, b1) × units [u0, u1).
struct Block {
  int64_t b0, b1, u0, u1;
  int64_t rows() const { return b1 - b0; }
  int64_t n() const { return u1 - u0; }
};

struct Split {
  std::vector<Block> blocks;
  bool by_rows;  // true: blocks never share data inside the loop, so no barrier per step
  int64_t team;  // the threads that run the loop: one per block by rows, several blocks each by units
};

// Shares for the blocks of a split by rows whose loop may share them (sharing.h: a thread done with
// its own rows takes the later rows of a slower thread's, for the steps that one has yet to start;
// the owner keeps whole tiles, and fewer than 4 rows or 2 steps are not worth a thread's wait);
// none otherwise.
std::vector<sharing::Share> shares_of(const Split& split, bool shareable) {
  std::vector<sharing::Share> shares(shareable && split.by_rows && split.blocks.size() > 1 ? split.blocks.size() : 0);
  for (size_t k = 0; k < shares.size(); ++k) shares[k].own(split.blocks[k].b0, split.blocks[k].b1, packed::MR, 4, 2);
  return shares;
}

// Who runs which block of a split by units, phase after phase (a step, or half of one going back):
// the blocks are dealt out in equal runs, one per thread, and a thread runs the blocks of its run it
// has not been beaten to, then those of the others': on a VM one core often runs slower than the
// other for a while, and each phase ends at a barrier, so the faster thread takes over the slower's
// last blocks instead of waiting for them. Each block's arithmetic is the same whoever runs it.
class Claims {
 public:
  Claims(int64_t phases, int64_t blocks, int64_t team)
      : next_(std::max<int64_t>(1, phases * team)), blocks_(blocks), team_(team), run_((blocks + team - 1) / team) {
    for (auto& n : next_) n.store(0, std::memory_order_relaxed);
  }
  template <typename Run>
  void run(int64_t phase, int64_t me, const Run& run) {
    for (int64_t i = 0; i < team_; ++i) {  // my run first, then the others'
      const int64_t owner = (me + i) % team_, first = owner * run_, last = std::min(blocks_, first + run_);
      std::atomic<int64_t>& next = next_[phase * team_ + owner];
      for (int64_t k = first + next.fetch_add(1); k < last; k = first + next.fetch_add(1)) run(k);
    }
  }

 private:
  std::vector<std::atomic<int64_t>> next_;  // (phase, run): the run's next block
  int64_t blocks_, team_, run_;
};

// By rows when the recurrent kernel is small (at most 256 KiB), or when every thread gets at least
// 6 rows and the kernel fits a core's L2 cache (1 MiB: each thread streams all of it every step);
// else by units, at least 32 a thread, in blocks of at least 32 and a multiple of 8 (one AVX
// register), up to four a thread (see Claims). Rows need no barrier per step, which wins even at 6
// rows a thread; at fewer rows units win only where streaming a kernel of over 256 KiB is most of a
// step: a smaller kernel's step is too short for halving it to pay for the barrier and for each
// thread reading the other's half of h_t, so rows beat units even at one row a thread, or with a
// single sequence on one thread (docs/kernel-notes.md). And a call whose steps' products h_{t-1} U
// add up to less than TINY_FLOPS (counted as in float32: kernel_bytes / 4 multiply-adds a row a
// step) runs on one thread: a stateful layer fed a step at a time, say, where waking a second
// thread and meeting it costs more than the half of the arithmetic it would take over.
// `split` ("auto", "rows", "units") is rnnzoo.kernels.configure's setting.
constexpr int64_t TINY_FLOPS = 1'500'000;

Split split_work(int64_t batch, int64_t steps, int64_t units, int64_t kernel_bytes, const std::string& split_setting) {
  TORCH_CHECK(split_setting == "auto" || split_setting == "rows" || split_setting == "units",
              "split must be auto, rows or units, got ", split_setting);
  const bool tiny = split_setting == "auto" && batch * steps * (kernel_bytes / 2) < TINY_FLOPS;
  const int64_t available = tiny ? 1 : std::max<int64_t>(1, at::get_num_threads());
  Split split{{}, false, 1};
  const bool rows = split_setting != "auto"
                        ? split_setting == "rows"
                        : kernel_bytes <= (int64_t{256} << 10) ||
                              (batch / available >= 6 && kernel_bytes <= (int64_t{1} << 20));
  if (rows) {
    const int64_t threads = std::max<int64_t>(1, std::min(available, batch));
    const int64_t chunk = (batch + threads - 1) / threads;
    for (int64_t b0 = 0; b0 < batch; b0 += chunk) split.blocks.push_back({b0, std::min(batch, b0 + chunk), 0, units});
    split.by_rows = true;
    split.team = static_cast<int64_t>(split.blocks.size());
    return split;
  }
  // Up to BLOCKS blocks a thread, of at least 32 units: a thread done with its own before a step's
  // barrier runs blocks of another's (Claims).
  constexpr int64_t BLOCKS = 4;
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(available, units / 32));
  const int64_t chunk = std::max<int64_t>(32, ((units + threads * BLOCKS - 1) / (threads * BLOCKS) + 7) / 8 * 8);
  for (int64_t u0 = 0; u0 < units; u0 += chunk) split.blocks.push_back({0, batch, u0, std::min(units, u0 + chunk)});
  split.team = std::min<int64_t>(threads, static_cast<int64_t>(split.blocks.size()));
  return split;
}

struct Problem {
  int64_t kind, recurrent_activation, activation, B, T, U, G;
  const int64_t* lengths;  // nullptr: every sequence runs all T steps
  std::string split;       // how the threads share a step: "auto", "rows" or "units"
  bool running(int64_t b, int64_t t) const { return lengths == nullptr || t < lengths[b]; }
};

// The hidden states h_0 .. h_T: h_0 is the caller's (B, U), h_1 .. h_T are the layer's outputs Y,
// batch-major (B, T, U) so that the next layer and the caller take them without a copy. Y's
// sequences are batch_stride apart: T·U, or more when Y is a window of a longer output (inference
// in chunks of time writes each chunk's outputs where they belong). At inference of a layer that
// returns only its final state, Y is a ring of two steps (B, 2, U): h_t lands in slot (t - 1) % 2,
// so memory does not grow with T and the states stay in cache.
template <typename T>
struct States {
  T* h0;  // never written
  T* Y;
  int64_t batch_stride, U;
  bool ring;
  T* row(int64_t t, int64_t b) const {
    return t == 0 ? h0 + b * U : Y + b * batch_stride + (ring ? (t - 1) & 1 : t - 1) * U;
  }
  int64_t stride(int64_t t) const { return t == 0 ? U : batch_stride; }  // from one sequence's h_t to the next's
};

// ---------------------------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------------------------

// Where a block's projected inputs x_t W + b come from: gate g of row b at step t is
// row(b, t)[g * gate_stride + j] for the block's units j. Either the hoisted xp (B, T, G·U), or a
// thread's scratch (rows, G·n) that the loop fills every step from the inputs themselves.
template <typename T>
struct Projected {
  const T* data;
  int64_t first_row, batch_stride, step_stride, gate_stride;
  const T* row(int64_t b, int64_t t) const { return data + (b - first_row) * batch_stride + t * step_stride; }
};

template <typename T>
void forward_rows(const Problem& p, int64_t t, const Block& block, const T* Z, const Projected<T>& in,
                  const T* brec, const States<T>& H, T* C, int64_t c_slots, T* Gs, T* X) {
  // Z: this block's (rows, G·n) of h_{t-1} @ U. X: LSTM act(c_t) or GRU's recurrent h block.
  // Gs and X are nullptr when nothing is saved: the step then uses scratch for both. C holds c_t in
  // slot t % c_slots: all T + 1 states for the backward pass, else just the current and next.
  const int64_t B = p.B, U = p.U, G = p.G, u0 = block.u0, n = block.n(), gs = in.gate_stride;
  std::vector<T> scratch(5 * n);
  for (int64_t b = block.b0; b < block.b1; ++b) {
    if (const int64_t a = b + ROWS_AHEAD; a < block.b1) {  // what row a will read and write
      for (int64_t g = 0; g < G; ++g) prefetch(in.row(a, t) + g * gs, n, false);
      prefetch(H.row(t + 1, a) + u0, n, true);
      if (p.kind == GRU) prefetch(H.row(t, a) + u0, n, false);
      if (Gs != nullptr)
        for (int64_t g = 0; g < G; ++g) prefetch(Gs + (t * B + a) * G * U + g * U + u0, n, true);
      if (X != nullptr) prefetch(X + (t * B + a) * U + u0, n, true);
    }
    const T* x = in.row(b, t);                          // the block's projected input of step t
    const T* z = Z + (b - block.b0) * G * n;
    T* h_prev = H.row(t, b) + u0;
    T* h = H.row(t + 1, b) + u0;
    T* gates = Gs == nullptr ? nullptr : Gs + (t * B + b) * G * U;
    T* extra = X == nullptr ? scratch.data() + 4 * n : X + (t * B + b) * U + u0;
    if (!p.running(b, t)) {                            // padding: keep the state, save zero gates
      std::memcpy(h, h_prev, n * sizeof(T));
      if (p.kind == LSTM)
        std::memcpy(C + (((t + 1) % c_slots) * B + b) * U + u0, C + ((t % c_slots) * B + b) * U + u0, n * sizeof(T));
      if (gates != nullptr) for (int64_t g = 0; g < G; ++g) std::fill_n(gates + g * U + u0, n, T(0));
      if (X != nullptr) std::fill_n(X + (t * B + b) * U + u0, n, T(0));
      continue;
    }
    if (p.kind == SIMPLE) {
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) h[j] = x[j] + z[j];
      activate(p.activation, h, n);
    } else if (p.kind == LSTM) {
      // i, f, c~, o of this thread's units, gate g at a + g * stride: computed in place in the
      // saved gates when there are any (no copy), else in scratch.
      T* a = gates != nullptr ? gates + u0 : scratch.data();
      const int64_t stride = gates != nullptr ? U : n;
      for (int64_t g = 0; g < 4; ++g) {
        T* ag = a + g * stride;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) ag[j] = x[g * gs + j] + z[g * n + j];
      }
      T *i = a, *f = a + stride, *cc = a + 2 * stride, *o = a + 3 * stride;
      activate(p.recurrent_activation, i, n);
      activate(p.recurrent_activation, f, n);
      activate(p.activation, cc, n);
      activate(p.recurrent_activation, o, n);
      const T* c_prev = C + ((t % c_slots) * B + b) * U + u0;
      T* c = C + (((t + 1) % c_slots) * B + b) * U + u0;
      T* ac = extra;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) {
        c[j] = f[j] * c_prev[j] + i[j] * cc[j];
        ac[j] = c[j];
      }
      activate(p.activation, ac, n);
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) h[j] = o[j] * ac[j];
    } else {  // GRU, reset_after; z, r, h~ in place in the saved gates, as for the LSTM
      T* a = gates != nullptr ? gates + u0 : scratch.data();
      const int64_t stride = gates != nullptr ? U : n;
      T *zg = a, *r = a + stride, *hh = a + 2 * stride;
      T* rh = extra;                                   // (h_{t-1} U + b_rec) of the h~ block
      for (int64_t j = 0; j < n; ++j) rh[j] = z[2 * n + j] + (brec ? brec[2 * U + u0 + j] : T(0));
      for (int64_t g = 0; g < 2; ++g) {
        T* ag = a + g * stride;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) ag[j] = x[g * gs + j] + z[g * n + j] + (brec ? brec[g * U + u0 + j] : T(0));
      }
      activate(p.recurrent_activation, zg, n);
      activate(p.recurrent_activation, r, n);
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) hh[j] = x[2 * gs + j] + r[j] * rh[j];
      activate(p.activation, hh, n);
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) h[j] = zg[j] * h_prev[j] + (T(1) - zg[j]) * hh[j];
    }
  }
}

// The projected inputs come either hoisted, xp (B, T, G·U), or (float32) as the inputs x (B, T, F)
// with the kernel W (F, G·U) and input bias b: each thread then computes its rows' x_t W + b every
// step into a scratch that stays in L1/L2, instead of a hoisted GEMM writing all T steps to memory
// for the loop to read back, and the backward pass to keep (with few features, F 28 or 1, that GEMM
// does only F multiply-adds per float it writes). W is packed like U, with b as the starting value.
struct LayerInputs {
  at::Tensor xp, x, W, b;  // xp, or x and W (and b, possibly undefined)
};

// Packed kernels kept between calls. At inference the weights rarely change from one call to the
// next, yet packing them (every float of U, and of W in the loop, read and written again, then a
// barrier) costs a few percent of a call. A caller may lend `keep`, a float32 buffer that outlives
// the call: the panels are packed into it behind a header naming what they were packed from — the
// weights' addresses and version counters (which every in-place change bumps, as autograd relies
// on) and the layout (ISA, shapes, how the threads split the units) — and a later call whose header
// matches uses them as they are. The caller lends it only with weights that outlive it (not a
// temporary copy, whose address and version a later copy could repeat).
class Kept {
 public:
  static constexpr int64_t HEADER = 32;  // floats: the 64-bit fields below, padded to keep panels 64-byte aligned

  Kept(at::Tensor buffer, const at::Tensor& U, const at::Tensor& W, int64_t F, int64_t G, const Split& split)
      : buffer_(std::move(buffer)) {
    uint64_t layout = 1469598103934665603ull;  // FNV-1a over the split's blocks of units
    for (const Block& block : split.blocks)
      for (int64_t v : {block.u0, block.u1}) layout = (layout ^ static_cast<uint64_t>(v)) * 1099511628211ull;
    const int64_t fields[] = {packed::NR, F, U.size(0), G, split.by_rows, static_cast<int64_t>(layout),
                              reinterpret_cast<int64_t>(U.data_ptr()), U._version(),
                              W.defined() ? reinterpret_cast<int64_t>(W.data_ptr()) : 0, W.defined() ? W._version() : 0};
    static_assert(sizeof(fields) <= HEADER * sizeof(float));
    std::memset(header_, 0, sizeof(header_));
    std::memcpy(header_, fields, sizeof(fields));
  }
  // Whether the buffer holds `floats` floats of panels packed from these weights in this layout.
  bool holds(int64_t floats) const {
    return buffer_.numel() == HEADER + floats && std::memcmp(buffer_.data_ptr<float>(), header_, sizeof(header_)) == 0;
  }
  // Room for `floats` floats of panels, marked as holding none until done() (a failed call leaves it empty).
  float* reserve(int64_t floats) {
    buffer_.resize_({HEADER + floats});
    std::memset(buffer_.data_ptr<float>(), 0, sizeof(header_));
    return panels();
  }
  float* panels() { return buffer_.data_ptr<float>() + HEADER; }
  void done() { std::memcpy(buffer_.data_ptr<float>(), header_, sizeof(header_)); }

  // Whether a call may keep its panels in `buffer`: float32 weights with version counters.
  static bool usable(const c10::optional<at::Tensor>& buffer, const at::Tensor& U, const at::Tensor& W) {
    return buffer.has_value() && buffer->defined() && buffer->scalar_type() == at::kFloat && buffer->dim() == 1 &&
           buffer->device().is_cpu() && U.scalar_type() == at::kFloat && !U.is_inference() &&
           !(W.defined() && W.is_inference());
  }

 private:
  at::Tensor buffer_;
  float header_[HEADER];
};

template <typename T>
ForwardResult forward_impl(const Problem& p, const LayerInputs& inputs, const at::Tensor& U_,
                                     const at::Tensor& brec_, const at::Tensor& h0, const at::Tensor& c0, bool save,
                                     const at::Tensor& Y_given, bool sequence, const c10::optional<at::Tensor>& keep) {
  const int64_t B = p.B, T_ = p.T, U = p.U, G = p.G;
  const bool in_loop = inputs.x.defined();
  const int64_t F = in_loop ? inputs.x.size(2) : 0;
  auto options = U_.options();
  const bool ring = !sequence && !save && !Y_given.defined();  // only h_T wanted, no backward pass
  at::Tensor Y = Y_given.defined() ? Y_given : at::empty({B, ring ? std::min<int64_t>(T_, 2) : T_, U}, options);
  at::Tensor h0c = h0.contiguous();
  const States<T> H{h0c.data_ptr<T>(), Y.data_ptr<T>(), Y.stride(0), U, ring};
  at::Tensor C, X;
  if (p.kind == LSTM) {
    C = at::empty({save ? T_ + 1 : 2, B, U}, options);  // inference keeps only c_t and c_{t+1}
    TORCH_CHECK(c0.defined() && c0.numel() == B * U, "an LSTM's c0 must be (B, U)");
    std::memcpy(C.data_ptr<T>(), c0.data_ptr<T>(), B * U * sizeof(T));  // c0 contiguous
  }
  const bool gated = p.kind != SIMPLE && save;  // SimpleRNN's only "gate" is h itself
  if (gated) X = at::empty({T_, B, U}, options);
  at::Tensor Gs = gated ? at::empty({T_, B, G * U}, options) : at::Tensor();
  const Split split = split_work(B, T_, U, U_.numel() * U_.element_size(), p.split);
  const auto& blocks = split.blocks;
  const int64_t threads = static_cast<int64_t>(blocks.size());
  // float32: U is packed once for the whole loop (packed_gemm.h); a split by rows shares one
  // packing, a split by units packs each block's columns of every gate. float64: at::mm, with
  // each block's columns copied side by side.
  constexpr bool own_gemm = std::is_same_v<T, float>;
  // A single step whose packing is not kept, every block one tile high (a step at a time in
  // training, at a small batch), reads each panel once: its products read W and U where they lie,
  // since packing them would read them all to write them out again (packed_gemm.h, gemm_in_place).
  // So do a few steps (up to 4) of kernels of at most 1 MiB each, read again from L2 each step;
  // bigger ones' rows, read in place from L3, were slower than a packed copy's from the second step
  // on (docs/kernel-notes.md). Each gate's units of a block are whole panels of W's and U's rows.
  const bool keeping = own_gemm && Kept::usable(keep, U_, inputs.W);
  const bool one_tile = std::all_of(blocks.begin(), blocks.end(), [](const Block& block) {
    return block.rows() <= packed::MR && block.n() % packed::NR == 0;
  });
  const int64_t largest = std::max(U_.numel(), in_loop ? inputs.W.numel() : 0) * U_.element_size();
  const bool few_steps = T_ == 1 || (T_ <= 4 && largest <= (int64_t{1} << 20));
  const bool in_place = own_gemm && !keeping && one_tile && few_steps;
  std::vector<packed::Panels> panels, input_panels;
  std::vector<at::Tensor> packed(threads);
  const int64_t sets = own_gemm && !in_place ? (split.by_rows ? 1 : threads) : 0;  // packed blocks
  int64_t floats = 0;  // the packed blocks' panels, W's (in the loop) and U's
  for (int64_t k = 0; k < sets; ++k)
    floats += packed::Panels::size(U, G * blocks[k].n()) + (in_loop ? packed::Panels::size(F, G * blocks[k].n()) : 0);
  std::optional<Kept> kept;
  if (keeping) kept.emplace(*keep, U_, inputs.W, F, G, split);
  const bool packed_already = kept && kept->holds(floats);
  float* storage = !kept ? nullptr : packed_already ? kept->panels() : kept->reserve(floats);
  // A thread's scratch for the step it runs: Z = h_{t-1} U and (in the loop) XS = x_t W + b, each
  // (rows, G·n) of its block, with room for the largest (a thread may run rows or units taken from
  // another's; the first block is the largest). One per thread, not per block: a split by units has
  // up to four blocks a thread, and at a batch of one each allocation cost more than the step's arithmetic.
  // All of them are one allocation, each a whole number of cache lines (no line written by two threads).
  constexpr int64_t LINE = 64 / sizeof(T);
  const int64_t room = blocks.empty() ? 0 : (G * blocks.front().rows() * blocks.front().n() + LINE - 1) / LINE * LINE;
  const at::Tensor scratch = at::empty({split.team * (in_loop ? 2 : 1) * room}, options);  // Z's, then XS's
  T* const Z = scratch.data_ptr<T>();  // thread s's at Z + s·room
  T* const XS = Z + split.team * room;
  const float* input_bias = inputs.b.defined() ? inputs.b.data_ptr<float>() : nullptr;
  for (int64_t k = 0; k < threads; ++k) {
    const Block& block = blocks[k];
    if constexpr (own_gemm) {
      if (k >= sets) continue;
      std::vector<int64_t> column;  // this block's units of every gate, side by side
      for (int64_t g = 0; g < G; ++g)
        for (int64_t j = block.u0; j < block.u1; ++j) column.push_back(g * U + j);
      if (in_loop) {
        std::vector<float> bias;  // the input bias of the same columns
        if (input_bias != nullptr)
          for (int64_t c : column) bias.push_back(input_bias[c]);
        input_panels.emplace_back(F, inputs.W.data_ptr<float>(), G * U, column, bias.empty() ? nullptr : bias.data(),
                                  storage);
        if (storage) storage += packed::Panels::size(F, column.size());
      }
      const int64_t n = static_cast<int64_t>(column.size());
      panels.emplace_back(U, U_.data_ptr<float>(), G * U, std::move(column), nullptr, storage);
      if (storage) storage += packed::Panels::size(U, n);
    } else if (block.n() == U) {
      packed[k] = U_.contiguous();
    } else {
      std::vector<at::Tensor> columns;
      for (int64_t g = 0; g < G; ++g) columns.push_back(U_.narrow(1, g * U + block.u0, block.n()));
      packed[k] = at::cat(columns, 1).contiguous();
    }
  }
  const T* brec = brec_.defined() ? brec_.data_ptr<T>() : nullptr;
  T* Cd = C.defined() ? C.data_ptr<T>() : nullptr;
  T* Xd = X.defined() ? X.data_ptr<T>() : nullptr;
  T* Gd = gated ? Gs.data_ptr<T>() : nullptr;
  const bool zero_start = starts_from_zero<T>(h0c);  // then the first step's product is skipped
  // out (rows, G·n) = A (rows, K) @ the block's units of every gate of B (K, G·U) + bias, read in place.
  auto product_in_place = [&](const Block& block, const float* A, int64_t lda, int64_t K, const float* B_,
                              const float* bias, float* out) {
    for (int64_t g = 0; g < G; ++g)
      packed::gemm_in_place(block.rows(), A, lda, K, B_ + g * U + block.u0, G * U, block.n(),
                            bias ? bias + g * U + block.u0 : nullptr, out + g * block.n(), G * block.n());
  };
  // Step t of block k's rows and units (or of `block`, rows taken from block k), on thread s's scratch.
  auto step = [&](int64_t s, int64_t k, const Block& block, int64_t t) {
    const int64_t width = G * block.n();
    T* z = Z + s * room;
    Projected<T> in{nullptr, 0, 0, 0, 0};
    if (!in_loop) {
      in = {inputs.xp.data_ptr<T>() + block.u0, 0, inputs.xp.stride(0), inputs.xp.stride(1), U};
    } else if constexpr (own_gemm) {  // (rows, F) @ (F, G·n) + b, rows T·F apart
      const float* x_t = inputs.x.data_ptr<float>() + (block.b0 * T_ + t) * F;
      if (in_place)
        product_in_place(block, x_t, T_ * F, F, inputs.W.data_ptr<float>(), input_bias, XS + s * room);
      else
        packed::gemm(block.rows(), x_t, T_ * F, input_panels[split.by_rows ? 0 : k], XS + s * room, width);
      in = {XS + s * room, block.b0, width, 0, block.n()};
    }
    // (rows, U) @ (U, G·n)
    if (t == 0 && zero_start)
      std::fill_n(z, block.rows() * width, T(0));
    else if constexpr (own_gemm) {
      if (in_place)
        product_in_place(block, H.row(t, block.b0), H.stride(t), U, U_.data_ptr<float>(), nullptr, z);
      else
        packed::gemm(block.rows(), H.row(t, block.b0), H.stride(t), panels[split.by_rows ? 0 : k], z, width);
    } else {
      const at::Tensor h_prev = t == 0 ? h0c : Y.select(1, ring ? (t - 1) & 1 : t - 1);
      at::Tensor out = scratch.narrow(0, s * room, block.rows() * width).view({block.rows(), width});
      at::mm_out(out, h_prev.narrow(0, block.b0, block.rows()), packed[k]);
    }
    forward_rows<T>(p, t, block, z, in, brec, H, Cd, C.defined() ? C.size(0) : 1, Gd, Xd);
  };
  std::vector<sharing::Share> shares = shares_of(split, own_gemm);  // split by rows: threads take over rows
  // By rows thread k normally owns block k; should OpenMP give fewer threads (e.g. when called
  // inside another parallel region), each thread takes every team-th block. By units the team
  // claims the blocks step by step (Claims), however many threads it has.
  Claims claims(split.by_rows ? 0 : T_, threads, split.team);
  // One step from a zero state makes no product with U: its panels are packed only to be kept.
  const bool pack_U = T_ > 1 || !zero_start || kept;
  in_parallel(split.team, [&](int64_t me, int64_t team, Failure& failure) {
    if (!packed_already && !in_place) {
      if (pack_U)
        for (auto& set : panels) set.fill(me, team);
      for (auto& set : input_panels) set.fill(me, team);
#pragma omp barrier
    }
    if (!shares.empty() && team == threads) {  // on this thread's scratch, whoever's rows
      sharing::share_work(shares, me, T_, [&](int64_t, int64_t from, int64_t to, int64_t t) {
        guarded(failure, [&] { step(me, 0, Block{from, to, 0, U}, t); });
      });
      return;
    }
    for (int64_t t = 0; t < T_; ++t) {
      if (split.by_rows) {
        guarded(failure, [&] {
          for (int64_t k = me; k < threads; k += team) step(me, k, blocks[k], t);
        });
        continue;
      }
      claims.run(t, me, [&](int64_t k) { guarded(failure, [&] { step(me, k, blocks[k], t); }); });
#pragma omp barrier
    }
  });
  if (kept && !packed_already) kept->done();
  // Padded steps carry the state, so the last step's is every sequence's final state.
  // Copied row by row, not with select and clone: two ops fewer, which a one-step call notices.
  ForwardResult out;
  out.Y = Y;
  out.h = at::empty({B, U}, options);
  for (int64_t b = 0; b < B; ++b) std::memcpy(out.h.data_ptr<T>() + b * U, H.row(T_, b), U * sizeof(T));
  if (p.kind == LSTM) {
    out.C = C;
    out.c = at::empty({B, U}, options);
    std::memcpy(out.c.data_ptr<T>(), Cd + (T_ % C.size(0)) * B * U, B * U * sizeof(T));
  }
  if (gated) {
    out.gates = Gs;
    out.extra = X;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------------------------
template <typename T>
void backward_rows(const Problem& p, int64_t t, const Block& block, const T* dY, const T* dh_last,
                   const States<T>& H, const T* C, const T* Gs, const T* X, const T* tmp, T* direct, T* carry_c,
                   T* DX, T* DRh) {
  // dh_t = dY[:, t] (the outputs' gradient; none if unused) + at the last step dh_last (the final
  // state's) + tmp, this block's (rows, n) of dZ_{t+1} @ U^T, + direct, the part that skips it.
  const int64_t B = p.B, U = p.U, G = p.G, u0 = block.u0, n = block.n();
  std::vector<T> dh(n);
  for (int64_t b = block.b0; b < block.b1; ++b) {
    if (const int64_t a = b + ROWS_AHEAD; a < block.b1) {  // what row a will read and write
      if (dY != nullptr) prefetch(dY + (a * p.T + t) * U + u0, n, false);
      if (p.kind == SIMPLE) prefetch(H.row(t + 1, a) + u0, n, false);
      if (p.kind == GRU) prefetch(H.row(t, a) + u0, n, false);
      if (X != nullptr) prefetch(X + (t * B + a) * U + u0, n, false);
      if (C != nullptr) prefetch(C + (t * B + a) * U + u0, n, false);
      for (int64_t g = 0; g < G; ++g) {
        if (Gs != nullptr) prefetch(Gs + (t * B + a) * G * U + g * U + u0, n, false);
        prefetch(DX + (a * p.T + t) * G * U + g * U + u0, n, true);
      }
      if (DRh != nullptr) prefetch(DRh + (a * p.T + t) * U + u0, n, true);
    }
    const int64_t local = b - block.b0;  // row in this block's buffers
    T* dir = direct + local * n;
    const T* tm = tmp + local * n;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) dh[j] = dir[j] + tm[j];
    if (dY != nullptr) {
      const T* dY_row = dY + (b * p.T + t) * U + u0;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) dh[j] += dY_row[j];
    }
    if (dh_last != nullptr && t == p.T - 1) {
      const T* last = dh_last + b * U + u0;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) dh[j] += last[j];
    }
    T* dx = DX + (b * p.T + t) * G * U;  // batch-major: (B, T, G·U), as the projection's gradient
    T* drh = DRh == nullptr ? nullptr : DRh + (b * p.T + t) * U;  // (B, T, U)
    if (!p.running(b, t)) {  // padding: dh (and dc, in carry_c) pass through untouched
      std::memcpy(dir, dh.data(), n * sizeof(T));
      for (int64_t g = 0; g < G; ++g) std::fill_n(dx + g * U + u0, n, T(0));
      if (drh != nullptr) std::fill_n(drh + u0, n, T(0));
      continue;
    }
    const T* gates = Gs == nullptr ? nullptr : Gs + (t * B + b) * G * U;  // SimpleRNN saves none
    if (p.kind == SIMPLE) {
      const T* h = H.row(t + 1, b) + u0;
      std::memcpy(dx + u0, dh.data(), n * sizeof(T));
      scale_by_derivative(p.activation, h, dx + u0, n);
      std::fill_n(dir, n, T(0));
    } else if (p.kind == LSTM) {
      const T *i = gates + u0, *f = gates + U + u0, *g = gates + 2 * U + u0, *o = gates + 3 * U + u0;
      const T* ac = X + (t * B + b) * U + u0;
      const T* c_prev = C + (t * B + b) * U + u0;
      T* cc = carry_c + local * n;  // dc_t: the final state's gradient at first, then dc_{t+1} * f
      T *di = dx + u0, *df = dx + U + u0, *dg = dx + 2 * U + u0, *d_o = dx + 3 * U + u0;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) di[j] = dh[j] * o[j];  // d act(c_t), scaled below
      scale_by_derivative(p.activation, ac, di, n);
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) {
        const T dc = cc[j] + di[j];
        d_o[j] = dh[j] * ac[j];
        di[j] = dc * g[j];
        dg[j] = dc * i[j];
        df[j] = dc * c_prev[j];
        cc[j] = dc * f[j];
      }
      scale_by_derivative(p.recurrent_activation, i, di, n);
      scale_by_derivative(p.recurrent_activation, f, df, n);
      scale_by_derivative(p.activation, g, dg, n);
      scale_by_derivative(p.recurrent_activation, o, d_o, n);
      std::fill_n(dir, n, T(0));
    } else {  // GRU
      const T *z = gates + u0, *r = gates + U + u0, *hh = gates + 2 * U + u0;
      const T* rh = X + (t * B + b) * U + u0;
      const T* h_prev = H.row(t, b) + u0;
      T *dz = dx + u0, *drr = dx + U + u0, *da = dx + 2 * U + u0;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) {
        dz[j] = dh[j] * (h_prev[j] - hh[j]);
        da[j] = dh[j] * (T(1) - z[j]);
        dir[j] = dh[j] * z[j];
      }
      scale_by_derivative(p.recurrent_activation, z, dz, n);
      scale_by_derivative(p.activation, hh, da, n);
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) drr[j] = da[j] * rh[j];
      scale_by_derivative(p.recurrent_activation, r, drr, n);
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) drh[u0 + j] = da[j] * r[j];
    }
  }
}

template <typename T>
BackwardResult backward_impl(const Problem& p, const at::Tensor& U_, const at::Tensor& Y,
                                      const at::Tensor& h0, const at::Tensor& C, const at::Tensor& Gs,
                                      const at::Tensor& X, const at::Tensor& dY, const at::Tensor& dh_last,
                                      const at::Tensor& dc_last, bool need_dh0) {
  const int64_t B = p.B, T_ = p.T, U = p.U, G = p.G;
  auto options = Y.options();
  const States<T> H{h0.data_ptr<T>(), Y.data_ptr<T>(), Y.stride(0), U, false};
  // dZ_t @ U^T takes d(h_{t-1} U + b_rec), which is dxp but for GRU's h~ block, reset-gated there: that
  // block is kept apart (DRh), and the product runs in two, the z and r blocks' rows of dxp (depth KZ)
  // then DRh's, so the (B, T, G·U) gradient is written once, not twice.
  at::Tensor DX = at::empty({B, T_, G * U}, options);  // d(projected input), in place per step
  at::Tensor DRh = p.kind == GRU ? at::empty({B, T_, U}, options) : at::Tensor();
  const int64_t KZ = p.kind == GRU ? (G - 1) * U : G * U;
  const bool products = T_ > 1 || need_dh0;  // else the one step's product, which only makes dh_0, is skipped
  const Split split = split_work(B, T_, U, U_.numel() * U_.element_size(), p.split);
  const auto& blocks = split.blocks;
  const int64_t threads = static_cast<int64_t>(blocks.size());
  // The gradients each block carries from step to step, (rows, n) of its rows and units each: tmp,
  // the next step's dZ @ U^T; direct, the part of dh that skips it; carry_c, LSTM's dc. The blocks
  // tile (B, U), so each of the three is one (B, U) allocation cut into the blocks' buffers: at a
  // small batch split by units (eight blocks at 256 units), an allocation per buffer cost more than
  // a step's arithmetic.
  std::vector<int64_t> offset(threads + 1, 0);  // block k's buffers start at offset[k]
  for (int64_t k = 0; k < threads; ++k) offset[k + 1] = offset[k] + blocks[k].rows() * blocks[k].n();
  at::Tensor carried = at::zeros({3, offset[threads]}, options);
  T* const tmp = carried.data_ptr<T>();
  T* const direct = tmp + offset[threads];
  T* const carry_c = direct + offset[threads];
  const at::Tensor dc_start = dc_last.defined() ? dc_last.contiguous() : at::Tensor();
  std::vector<at::Tensor> rows(threads), tmp_of(threads);
  constexpr bool own_gemm = std::is_same_v<T, float>;
  std::vector<packed::Panels> panels, panels_h;  // U^T's first KZ rows, and GRU's h~ rows: as in forward_impl
  for (int64_t k = 0; k < threads; ++k) {
    const Block& block = blocks[k];
    if constexpr (own_gemm) {
      if (products && !(split.by_rows && k > 0)) {
        std::vector<int64_t> column;  // column j of U^T is row u0 + j of U
        for (int64_t j = block.u0; j < block.u1; ++j) column.push_back(j * G * U);
        panels.emplace_back(KZ, U_.data_ptr<float>(), 1, column);
        if (DRh.defined()) panels_h.emplace_back(U, U_.data_ptr<float>() + KZ, 1, std::move(column));
      }
    } else {
      rows[k] = U_.narrow(0, block.u0, block.n());  // (n, G·U): dh_{t-1}[:, u0:u1] = dZ_t @ rows^T
      tmp_of[k] = carried[0].narrow(0, offset[k], block.rows() * block.n()).view({block.rows(), block.n()});
    }
    if (dc_start.defined())  // dc starts as the final state's gradient
      for (int64_t b = block.b0; b < block.b1; ++b)
        std::copy_n(dc_start.data_ptr<T>() + b * U + block.u0, block.n(),
                    carry_c + offset[k] + (b - block.b0) * block.n());
  }
  const T* dYd = dY.defined() ? dY.data_ptr<T>() : nullptr;
  const T* dh_lastd = dh_last.defined() ? dh_last.data_ptr<T>() : nullptr;
  const T* Cd = C.defined() ? C.data_ptr<T>() : nullptr;
  const T* Xd = X.defined() ? X.data_ptr<T>() : nullptr;
  const T* Gd = Gs.defined() ? Gs.data_ptr<T>() : nullptr;
  T* const DRd = DRh.defined() ? DRh.data_ptr<T>() : nullptr;
  // out (rows, ·) = dZ_t's `rows` rows from row b0 @ U^T's columns in panels[which]
  auto recurrent_product = [&](int64_t b0, int64_t rows, int64_t t, int64_t which, float* out, int64_t ldc) {
    packed::gemm(rows, DX.data_ptr<float>() + (b0 * T_ + t) * G * U, T_ * G * U, panels[which], out, ldc);
    if (DRh.defined())
      packed::gemm(rows, DRh.data_ptr<float>() + (b0 * T_ + t) * U, T_ * U, panels_h[which], out, ldc, true);
  };
  // Split by rows, rows may move between threads as in forward_impl, taking their block's carried
  // gradients (tmp, direct, carry_c) with them: whoever runs a row uses its block's buffers.
  std::vector<sharing::Share> shares = shares_of(split, own_gemm);
  Claims claims(split.by_rows ? 0 : 2 * T_, threads, split.team);
  in_parallel(split.team, [&](int64_t me, int64_t team, Failure& failure) {
    if (products) {
      for (auto& set : panels) set.fill(me, team);
      for (auto& set : panels_h) set.fill(me, team);
#pragma omp barrier
    }
    if (!shares.empty() && team == threads) {
      sharing::share_work(shares, me, T_, [&](int64_t k, int64_t from, int64_t to, int64_t i) {
        const int64_t t = T_ - 1 - i, row = offset[k] + (from - blocks[k].b0) * U;  // in block k's buffers
        guarded(failure, [&] {
          backward_rows<T>(p, t, Block{from, to, 0, U}, dYd, dh_lastd, H, Cd, Gd, Xd, tmp + row, direct + row,
                           carry_c + row, DX.data_ptr<T>(), DRd);
          if constexpr (own_gemm)  // (rows, G·U) @ (G·U, U)
            if (t > 0 || need_dh0) recurrent_product(from, to - from, t, 0, tmp + row, U);
        });
      });
      return;
    }
    auto pointwise = [&](int64_t k, int64_t t) {
      backward_rows<T>(p, t, blocks[k], dYd, dh_lastd, H, Cd, Gd, Xd, tmp + offset[k], direct + offset[k],
                       carry_c + offset[k], DX.data_ptr<T>(), DRd);
    };
    auto product = [&](int64_t k, int64_t t) {
      const Block& block = blocks[k];  // (rows, G·U) @ (G·U, n)
      if constexpr (own_gemm) {
        recurrent_product(block.b0, block.rows(), t, split.by_rows ? 0 : k, tmp + offset[k], block.n());
      } else {
        const at::Tensor dZ = DX.select(1, t).narrow(0, block.b0, block.rows());
        at::mm_out(tmp_of[k], dZ.narrow(1, 0, KZ), rows[k].narrow(1, 0, KZ).t());
        if (DRh.defined())
          tmp_of[k].addmm_(DRh.select(1, t).narrow(0, block.b0, block.rows()), rows[k].narrow(1, KZ, U).t());
      }
    };
    for (int64_t t = T_ - 1; t >= 0; --t) {
      const bool last = t == 0 && !need_dh0;  // the last product only makes dh_0
      if (split.by_rows) {  // no barrier: tmp[k] is read only by its owner; the next step writes other slots
        guarded(failure, [&] {
          for (int64_t k = me; k < threads; k += team) {
            pointwise(k, t);
            if (!last) product(k, t);
          }
        });
        continue;
      }
      // By units every block's product reads all of dZ_t, and the next step's pointwise part of a
      // block may run on another thread than its product: a barrier after each.
      const int64_t phase = 2 * (T_ - 1 - t);
      claims.run(phase, me, [&](int64_t k) { guarded(failure, [&] { pointwise(k, t); }); });
#pragma omp barrier
      if (last) continue;
      claims.run(phase + 1, me, [&](int64_t k) { guarded(failure, [&] { product(k, t); }); });
#pragma omp barrier
    }
  });
  at::Tensor dh0 = need_dh0 ? at::empty({B, U}, options) : at::Tensor();
  at::Tensor dc0 = p.kind == LSTM ? at::empty({B, U}, options) : at::Tensor();
  for (int64_t k = 0; k < threads; ++k) {  // each block's rows and units of dh_0 = tmp + direct, and dc_0
    const Block& block = blocks[k];
    for (int64_t b = block.b0; b < block.b1; ++b) {
      const int64_t from = offset[k] + (b - block.b0) * block.n(), to = b * U + block.u0;
      if (need_dh0)
        std::transform(tmp + from, tmp + from + block.n(), direct + from, dh0.data_ptr<T>() + to, std::plus<T>());
      if (dc0.defined()) std::copy_n(carry_c + from, block.n(), dc0.data_ptr<T>() + to);
    }
  }
  return {DX, DRh, dh0, dc0};
}

// The recurrent kernel's gradient dU = sum over b, t of h_{t-1}^T dZ_t (and GRU's recurrent bias
// gradient, dZ's column sums): one (U, B·T) @ (B·T, G·U) product for all steps, h_{t-1} and dZ's row
// (b, t) read where they lie, without h_0's rows when h_0 is zero (their terms are zero). dZ is DR,
// or given DRh (B, T, U), DR's first G·U - U columns and DRh's (GRU's, as backward_impl keeps them).
// Given X (B, T, F), the inputs whose projection the loop made (not with DRh: GRU's h~ block of dZ
// is not the projection's), the input kernel's gradient dW = sum over b, t of x_t^T dZ_t comes from
// the same product, S's rows [h_{t-1} | x_t] for every step: dZ, many times larger than either
// output, is read and packed once for both. Returns {dU, dbrec[, dW]}.
std::vector<at::Tensor> recurrent_gradient_impl(const at::Tensor& Y, const at::Tensor& h0, const at::Tensor& DR,
                                                const at::Tensor& DRh, bool has_brec, const at::Tensor& X) {
  const int64_t B = Y.size(0), T_ = Y.size(1), U = Y.size(2), GU = DR.size(2);
  const int64_t KZ = DRh.defined() ? GU - U : GU;  // DR's columns that are dZ's
  const int64_t F = X.defined() ? X.size(2) : 0;
  const States<float> H{h0.data_ptr<float>(), Y.data_ptr<float>(), Y.stride(0), U, false};
  // x_0's row adds to dW, so with X h_0's rows stay in (zeros add nothing to dU)
  const bool skip_start = starts_from_zero<float>(h0) && !X.defined();
  std::vector<const float*> h_prev, x_rows, dr_rows, drh_rows;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = skip_start ? 1 : 0; t < T_; ++t) {
      h_prev.push_back(H.row(t, b));
      if (X.defined()) x_rows.push_back(X.data_ptr<float>() + (b * T_ + t) * F);
      dr_rows.push_back(DR.data_ptr<float>() + (b * T_ + t) * GU);
      if (DRh.defined()) drh_rows.push_back(DRh.data_ptr<float>() + (b * T_ + t) * U);
    }
  at::Tensor C = at::empty({U + F, GU}, Y.options()), dbrec;
  if (has_brec) dbrec = at::empty({GU}, Y.options());  // dZ's column sums, taken on the way
  packed::gemm_tn_parallel(at::get_num_threads(), U + F, static_cast<int64_t>(h_prev.size()),
                           {h_prev.data(), U, X.defined() ? x_rows.data() : nullptr},
                           {dr_rows.data(), KZ, drh_rows.data()}, GU, C.data_ptr<float>(), GU,
                           has_brec ? dbrec.data_ptr<float>() : nullptr);
  if (has_brec && skip_start && T_ > 0) {  // the rows left out above add to the sums only
    float* sums = dbrec.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b) {
      const float* row = DR.data_ptr<float>() + b * T_ * GU;
#pragma omp simd
      for (int64_t j = 0; j < KZ; ++j) sums[j] += row[j];
      if (DRh.defined()) {
        const float* h_row = DRh.data_ptr<float>() + b * T_ * U;
#pragma omp simd
        for (int64_t j = 0; j < U; ++j) sums[KZ + j] += h_row[j];
      }
    }
  }
  if (!X.defined()) return {C, dbrec};
  return {C.narrow(0, 0, U), dbrec, C.narrow(0, U, F)};
}

// B sequences of T steps whose projected inputs have `columns` columns, through the recurrent kernel U.
Problem make_problem(int64_t kind, int64_t recurrent_activation, int64_t activation, int64_t B, int64_t T,
                     int64_t columns, const at::Tensor& U, const at::Tensor& lengths, const std::string& split) {
  TORCH_CHECK(kind >= SIMPLE && kind <= GRU, "unknown cell kind ", kind);
  TORCH_CHECK(activation >= LINEAR && activation <= HARD_SIGMOID, "unknown activation code ", activation);
  TORCH_CHECK(recurrent_activation >= LINEAR && recurrent_activation <= HARD_SIGMOID,
              "unknown recurrent activation code ", recurrent_activation);
  const int64_t G = gates_of(kind);
  TORCH_CHECK(U.dim() == 2 && U.size(1) == G * U.size(0) && U.is_contiguous(), "recurrent kernel must be (U, G*U)");
  TORCH_CHECK(columns == U.size(1), "the projected inputs have ", columns, " columns, expected ", U.size(1));
  TORCH_CHECK(!lengths.defined() || (lengths.dtype() == at::kLong && lengths.is_contiguous()), "lengths must be int64");
  return Problem{kind, recurrent_activation, activation, B, T, U.size(0), G,
                 lengths.defined() ? lengths.data_ptr<int64_t>() : nullptr, split};
}

}  // namespace

ForwardResult forward(int64_t kind, int64_t recurrent_activation, int64_t activation,
                      const c10::optional<at::Tensor>& xp, const c10::optional<at::Tensor>& x,
                      const c10::optional<at::Tensor>& kernel, const c10::optional<at::Tensor>& input_bias,
                      const at::Tensor& U, const c10::optional<at::Tensor>& brec, const at::Tensor& h0,
                      const c10::optional<at::Tensor>& c0, const c10::optional<at::Tensor>& lengths, bool save,
                      const c10::optional<at::Tensor>& out, bool sequence, const std::string& split,
                      const c10::optional<at::Tensor>& keep) {
  TORCH_CHECK(xp.has_value() != x.has_value(), "give the projected inputs xp or the inputs x, not both");
  // Nothing made here joins a graph: no tensor needs detaching first (a detach is a dispatched op,
  // and a one-step call's ops cost more than its arithmetic).
  at::NoGradGuard no_grad;
  LayerInputs inputs;
  int64_t B, T;
  if (xp.has_value()) {
    inputs.xp = *xp;
    TORCH_CHECK(inputs.xp.dim() == 3 && inputs.xp.stride(2) == 1, "xp must be (B, T, G*U) with unit inner stride");
    B = inputs.xp.size(0), T = inputs.xp.size(1);
  } else {
    inputs.x = x->contiguous();
    TORCH_CHECK(kernel.has_value(), "the inputs x come with their kernel");
    inputs.W = kernel->contiguous();
    inputs.b = input_bias.has_value() ? input_bias->contiguous() : at::Tensor();
    TORCH_CHECK(inputs.x.dim() == 3 && inputs.W.dim() == 2 && inputs.W.size(0) == inputs.x.size(2),
                "x must be (B, T, F) and kernel (F, G*U), got ", inputs.x.sizes(), " and ", inputs.W.sizes());
    TORCH_CHECK(!inputs.b.defined() || (inputs.b.dim() == 1 && inputs.b.size(0) == inputs.W.size(1)),
                "input_bias must be (G*U,)");
    TORCH_CHECK(inputs.x.scalar_type() == at::kFloat && inputs.W.scalar_type() == at::kFloat &&
                (!inputs.b.defined() || inputs.b.scalar_type() == at::kFloat) && U.scalar_type() == at::kFloat,
                "the inputs' products run in the loop for float32 only");
    B = inputs.x.size(0), T = inputs.x.size(1);
  }
  const int64_t columns = xp.has_value() ? inputs.xp.size(2) : inputs.W.size(1);
  at::Tensor len = lengths.has_value() ? lengths->contiguous() : at::Tensor();
  Problem p = make_problem(kind, recurrent_activation, activation, B, T, columns, U, len, split);
  at::Tensor Y = out.has_value() ? *out : at::Tensor();
  TORCH_CHECK(!Y.defined() || (Y.dim() == 3 && Y.size(0) == p.B && Y.size(1) == p.T && Y.size(2) == p.U &&
                               Y.stride(2) == 1 && Y.stride(1) == p.U && Y.scalar_type() == U.scalar_type()),
              "out must be (B, T, U) = (", p.B, ", ", p.T, ", ", p.U, ") of ", U.scalar_type(),
              " with contiguous time steps, got ", Y.sizes(), " with strides ", Y.strides());
  at::Tensor b = brec.has_value() ? brec->contiguous() : at::Tensor();
  at::Tensor c = c0.has_value() ? c0->contiguous() : at::Tensor();
  ForwardResult result;
  AT_DISPATCH_FLOATING_TYPES(U.scalar_type(), "rnnzoo_forward", [&] {
    result = forward_impl<scalar_t>(p, inputs, U, b, h0, c, save, Y, sequence, keep);
  });
  return result;
}

// With `gradients`, the products that turn dZ into the weights' (and inputs') gradients follow in the
// same call, on rnnzoo's GEMMs: what the entry points recurrent_gradient, matmul and matmul_tn make
// (the same bits), without a return to Python between them, whose code, evicted from the caches by
// each product, ran several times slower there than it does warm. dU and dbrec (with has_brec) as
// recurrent_gradient; given x (B, T, F), the inputs whose projection the loop made, their kernel's
// gradient dW = sum x_t^T dZ_t from dU's product (joint; not GRU's, see recurrent_gradient_impl) or
// from matmul_tn, and db = dZ's column sums with bias_sums; given their kernel (F, G·U), the inputs'
// gradient dx = dZ kernel^T.
BackwardResult backward(int64_t kind, int64_t recurrent_activation, int64_t activation, const at::Tensor& U,
                        const at::Tensor& Y, const at::Tensor& h0,
                        const c10::optional<at::Tensor>& C, const c10::optional<at::Tensor>& gates,
                        const c10::optional<at::Tensor>& extra, const c10::optional<at::Tensor>& dY,
                        const c10::optional<at::Tensor>& dh_T, const c10::optional<at::Tensor>& dc_T,
                        const c10::optional<at::Tensor>& lengths, bool need_dh0, const std::string& split,
                        bool gradients, bool has_brec, const c10::optional<at::Tensor>& x,
                        const c10::optional<at::Tensor>& kernel, bool joint, bool bias_sums) {
  at::Tensor len = lengths.has_value() ? lengths->contiguous() : at::Tensor();
  TORCH_CHECK(Y.dim() == 3, "Y must be (B, T, U)");
  Problem p = make_problem(kind, recurrent_activation, activation, Y.size(0), Y.size(1), U.size(1), U, len, split);
  auto given = [](const c10::optional<at::Tensor>& t) { return t.has_value() ? t->contiguous() : at::Tensor(); };
  const at::Tensor start = h0.contiguous(), X = given(x), W = given(kernel);
  if (gradients) {
    TORCH_CHECK(Y.scalar_type() == at::kFloat, "the gradients' products run natively in float32 only");
    TORCH_CHECK(!X.defined() || (X.dim() == 3 && X.size(0) == p.B && X.size(1) == p.T),
                "x must be (B, T, F) for Y's B and T, got ", X.sizes());
    TORCH_CHECK(!W.defined() || (W.dim() == 2 && W.size(1) == U.size(1)), "kernel must be (F, G*U)");
    TORCH_CHECK(!joint || (X.defined() && kind != GRU), "joint takes x, and not for GRU");
  }
  at::NoGradGuard no_grad;
  BackwardResult result;
  AT_DISPATCH_FLOATING_TYPES(Y.scalar_type(), "rnnzoo_backward", [&] {
    result = backward_impl<scalar_t>(p, U, Y, start, given(C), given(gates), given(extra),
                                     given(dY), given(dh_T), given(dc_T), need_dh0);
  });
  if (!gradients) return result;
  const int64_t GU = U.size(1);
  std::vector<at::Tensor> made = recurrent_gradient_impl(Y, start, result.dxp, result.dr,
                                                         has_brec || (joint && bias_sums), joint ? X : at::Tensor());
  result.dU = made[0];
  if (has_brec) result.dbrec = made[1];
  if (joint) {
    result.dW = made[2];
    if (bias_sums) result.db = made[1];
  } else if (X.defined()) {
    std::vector<at::Tensor> dW = matmul_tn(X.view({-1, X.size(2)}), result.dxp.view({-1, GU}));
    result.dW = dW[0];
    if (bias_sums) result.db = dW[1];
  }
  if (W.defined()) result.dx = matmul(result.dxp.view({-1, GU}), W.t(), c10::nullopt).view({p.B, p.T, W.size(0)});
  return result;
}

std::string split_of(int64_t batch, int64_t steps, int64_t units, int64_t kernel_bytes, const std::string& split) {
  const Split work = split_work(batch, steps, units, kernel_bytes, split);
  return work.team == 1 ? "one thread" : work.by_rows ? "rows" : "units";
}

std::vector<at::Tensor> recurrent_gradient(const at::Tensor& Y, const at::Tensor& h0, const at::Tensor& DR,
                                           const c10::optional<at::Tensor>& DRh_, bool has_brec,
                                           const c10::optional<at::Tensor>& X_) {
  TORCH_CHECK(Y.dim() == 3 && Y.stride(2) == 1 && Y.stride(1) == Y.size(2), "Y must be (B, T, U) with contiguous steps");
  TORCH_CHECK(DR.dim() == 3 && DR.is_contiguous() && DR.size(0) == Y.size(0) && DR.size(1) == Y.size(1),
              "DR must be contiguous (B, T, G*U) for Y's B and T");
  TORCH_CHECK(h0.dim() == 2 && h0.size(0) == Y.size(0) && h0.size(1) == Y.size(2), "h0 must be (B, U)");
  const at::Tensor DRh = DRh_.has_value() ? *DRh_ : at::Tensor();
  TORCH_CHECK(!DRh.defined() || (DRh.is_contiguous() && DRh.sizes() == Y.sizes() && DR.size(2) >= Y.size(2) &&
                                 DRh.scalar_type() == at::kFloat),
              "dr_h must be contiguous float32 (B, T, U) for Y's B, T and U");
  TORCH_CHECK(Y.scalar_type() == at::kFloat && DR.scalar_type() == at::kFloat && h0.scalar_type() == at::kFloat,
              "the recurrent gradient runs natively in float32 only");
  const at::Tensor X = X_.has_value() ? *X_ : at::Tensor();
  TORCH_CHECK(!X.defined() || (!DRh.defined() && X.is_contiguous() && X.dim() == 3 && X.size(0) == Y.size(0) &&
                               X.size(1) == Y.size(1) && X.scalar_type() == at::kFloat),
              "x must be contiguous float32 (B, T, F) for Y's B and T, and comes without dr_h");
  at::NoGradGuard no_grad;  // as in forward: nothing to detach
  return recurrent_gradient_impl(Y, h0.contiguous(), DR, DRh, has_brec, X);
}
