// The Python module of rnnzoo's native kernels: one extension built from every file in this folder.

#include <torch/extension.h>

#include <vector>

#include "packed_gemm.h"

// recurrent.cpp
std::vector<at::Tensor> forward(int64_t kind, int64_t recurrent_activation, int64_t activation, at::Tensor xp,
                                at::Tensor U, c10::optional<at::Tensor> brec, at::Tensor h0,
                                c10::optional<at::Tensor> c0, c10::optional<at::Tensor> lengths, bool save);
std::vector<at::Tensor> backward(int64_t kind, int64_t recurrent_activation, int64_t activation, at::Tensor xp,
                                 at::Tensor U, bool has_brec, at::Tensor H, c10::optional<at::Tensor> C,
                                 at::Tensor Gs, c10::optional<at::Tensor> X, at::Tensor dH,
                                 c10::optional<at::Tensor> dC, c10::optional<at::Tensor> lengths);
// dropout.cpp
at::Tensor dropout_mask_apply(at::Tensor x, int64_t key0, int64_t key1, int64_t threshold, double scale);

// packed_gemm.h on its own, for the tests: A (M, K) @ B (K, N) in float32, B read as stored (its
// rows contiguous) or, when B is a transposed contiguous matrix, through the transposed packing.
at::Tensor packed_matmul(const at::Tensor& A_, const at::Tensor& B) {
  TORCH_CHECK(A_.scalar_type() == at::kFloat && B.scalar_type() == at::kFloat, "packed_matmul takes float32");
  TORCH_CHECK(A_.dim() == 2 && B.dim() == 2 && A_.size(1) == B.size(0), "packed_matmul: shapes do not match");
  const at::Tensor A = A_.contiguous();
  const int64_t M = A.size(0), K = A.size(1), N = B.size(1);
  const bool transposed = B.t().is_contiguous() && !B.is_contiguous();
  const at::Tensor source = transposed ? B : B.contiguous();
  std::vector<int64_t> column(N);
  for (int64_t j = 0; j < N; ++j) column[j] = transposed ? j * K : j;
  packed::Panels panels(K, source.data_ptr<float>(), transposed ? 1 : N, std::move(column));
  panels.fill(0, 1);
  at::Tensor C = at::empty({M, N}, A.options());
  packed::gemm(M, A.data_ptr<float>(), K, panels, C.data_ptr<float>(), N);
  return C;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "rnnzoo native kernels (CPU): fused recurrences and counter-based dropout";
  m.def("forward", &forward, "forward over time: returns H, [C], [gates, extra] (gates and extra if save)");
  m.def("backward", &backward, "hand BPTT: returns dxp, dU, dbrec, dh0, dc0");
  m.def("packed_matmul", &packed_matmul, "A @ B through packed_gemm.h (float32; for the tests)");
  m.def("dropout", &dropout_mask_apply, "x * keep(index; keys) * scale, the mask of kernels/dropout.py");
}
