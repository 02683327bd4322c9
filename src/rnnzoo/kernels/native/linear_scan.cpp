// The linear recurrence h_t = a_t * h_{t-1} + b_t, elementwise, and its backward pass: the loop of
// minGRU and minLSTM, whose a and b come from the inputs alone (rnnzoo/kernels/scan.py).
//
// Every (sequence, unit) pair is an independent chain of T multiply-adds, so the work splits over
// sequences across threads and over units within a thread's vector registers; one pass reads a
// and b and writes h, all (B, T, U) batch-major. Going back, with g_t = dL/dh_t in full:
//     g_t = dH_t + a_{t+1} * g_{t+1},   da_t = g_t * h_{t-1},   db_t = g_t,   dh_0 = a_1 * g_1.
// On a CPU this costs far less than the log-space parallel scan, which needs an exp, a log and a
// cumulative log-sum-exp per element: that scan is for devices with thousands of threads.

#include <ATen/ATen.h>  // not torch/extension.h: its C++ frontend's headers would dominate the build
#include <ATen/Parallel.h>

#include <vector>

#include "denormals.h"

namespace {

template <typename T>
void forward_loop(const T* a, const T* b, const T* h0, T* H, int64_t B, int64_t steps, int64_t U) {
  at::parallel_for(0, B, 1, [&](int64_t first, int64_t last) {
    FlushDenormals flush;
    std::vector<T> h(U);
    for (int64_t s = first; s < last; ++s) {
      std::copy(h0 + s * U, h0 + (s + 1) * U, h.begin());
      for (int64_t t = 0; t < steps; ++t) {
        const int64_t row = (s * steps + t) * U;
#pragma omp simd
        for (int64_t u = 0; u < U; ++u) H[row + u] = h[u] = a[row + u] * h[u] + b[row + u];
      }
    }
  });
}

template <typename T>
void backward_loop(const T* a, const T* h0, const T* H, const T* dH, T* da, T* db, T* dh0, int64_t B, int64_t steps,
                   int64_t U) {
  at::parallel_for(0, B, 1, [&](int64_t first, int64_t last) {
    FlushDenormals flush;
    std::vector<T> carry(U);  // a_{t+1} * g_{t+1}: what h_t's gradient gets from the step after it
    for (int64_t s = first; s < last; ++s) {
      std::fill(carry.begin(), carry.end(), T(0));
      for (int64_t t = steps - 1; t >= 0; --t) {
        const int64_t row = (s * steps + t) * U;
        const T* previous = t > 0 ? H + row - U : h0 + s * U;
#pragma omp simd
        for (int64_t u = 0; u < U; ++u) {
          const T g = dH[row + u] + carry[u];
          db[row + u] = g;
          da[row + u] = g * previous[u];
          carry[u] = a[row + u] * g;
        }
      }
      std::copy(carry.begin(), carry.end(), dh0 + s * U);
    }
  });
}

void check(const at::Tensor& a, const at::Tensor& b, const at::Tensor& h0) {
  TORCH_CHECK(a.dim() == 3 && a.sizes() == b.sizes(), "a and b must be (B, T, U) alike, got ", a.sizes(), " and ",
              b.sizes());
  TORCH_CHECK(h0.dim() == 2 && h0.size(0) == a.size(0) && h0.size(1) == a.size(2), "h0 must be (B, U) = (",
              a.size(0), ", ", a.size(2), "), got ", h0.sizes());
  TORCH_CHECK(a.scalar_type() == b.scalar_type() && a.scalar_type() == h0.scalar_type(),
              "a, b and h0 must share a dtype");
  TORCH_CHECK(a.device().is_cpu(), "the linear scan runs on the CPU");
}

}  // namespace

at::Tensor linear_scan(const at::Tensor& a_, const at::Tensor& b_, const at::Tensor& h0_) {
  check(a_, b_, h0_);
  const at::Tensor a = a_.contiguous(), b = b_.contiguous(), h0 = h0_.contiguous();
  at::Tensor H = at::empty_like(a);
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "rnnzoo_linear_scan", [&] {
    forward_loop<scalar_t>(a.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
                           H.data_ptr<scalar_t>(), a.size(0), a.size(1), a.size(2));
  });
  return H;
}

std::vector<at::Tensor> linear_scan_backward(const at::Tensor& a_, const at::Tensor& h0_, const at::Tensor& H_,
                                             const at::Tensor& dH_) {
  check(a_, H_, h0_);
  TORCH_CHECK(dH_.sizes() == H_.sizes(), "dH must be shaped like H, got ", dH_.sizes());
  const at::Tensor a = a_.contiguous(), h0 = h0_.contiguous(), H = H_.contiguous(), dH = dH_.contiguous();
  at::Tensor da = at::empty_like(a), db = at::empty_like(a), dh0 = at::empty_like(h0);
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "rnnzoo_linear_scan_backward", [&] {
    backward_loop<scalar_t>(a.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(), H.data_ptr<scalar_t>(),
                            dH.data_ptr<scalar_t>(), da.data_ptr<scalar_t>(), db.data_ptr<scalar_t>(),
                            dh0.data_ptr<scalar_t>(), a.size(0), a.size(1), a.size(2));
  });
  return {da, db, dh0};
}
