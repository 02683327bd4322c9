// C = A @ B (+ bias) and C = S^T @ B in float32 on packed_gemm.h, for the fused path's projection.
//
// The fused path's input projection (x @ kernel + bias for all steps at once) and its input
// gradient (dY @ kernel^T) are such products: many rows (batch x time), a weight matrix small
// enough to pack in a fraction of the product's time. The threads pack B together, then each
// multiplies its share of the rows. B may be given as stored (rows contiguous) or as the transpose
// of a contiguous matrix (kernel.t(), for the input gradient): both pack without a copy.

#include <ATen/ATen.h>  // not torch/extension.h: its C++ frontend's headers would dominate the build
#include <ATen/Parallel.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "denormals.h"
#include "matmul.h"
#include "packed_gemm.h"

at::Tensor matmul(const at::Tensor& A_, const at::Tensor& B, const c10::optional<at::Tensor>& bias_) {
  TORCH_CHECK(A_.scalar_type() == at::kFloat && B.scalar_type() == at::kFloat, "matmul takes float32, got ",
              A_.scalar_type(), " and ", B.scalar_type());
  TORCH_CHECK(A_.dim() == 2 && B.dim() == 2 && A_.size(1) == B.size(0), "matmul: shapes ", A_.sizes(), " and ",
              B.sizes(), " do not match");
  TORCH_CHECK(A_.device().is_cpu() && B.device().is_cpu(), "matmul runs on the CPU");
  const at::Tensor A = A_.contiguous();
  const int64_t M = A.size(0), K = A.size(1), N = B.size(1);
  const bool transposed = B.t().is_contiguous() && !B.is_contiguous();
  const at::Tensor source = transposed ? B : B.contiguous();
  std::vector<int64_t> column(N);
  for (int64_t j = 0; j < N; ++j) column[j] = transposed ? j * K : j;  // where column j of B starts
  at::Tensor bias;
  if (bias_.has_value() && bias_->defined()) {
    bias = bias_->contiguous();
    TORCH_CHECK(bias.scalar_type() == at::kFloat && bias.numel() == N, "matmul: bias must be ", N, " float32 values");
  }
  packed::Panels panels(K, source.data_ptr<float>(), transposed ? 1 : N, std::move(column),
                        bias.defined() ? bias.data_ptr<float>() : nullptr);
  at::Tensor C = at::empty({M, N}, A.options());
  const float* a = A.data_ptr<float>();
  float* c = C.data_ptr<float>();
  // At least one row block (8 tiles) per thread: fewer rows are not worth a thread's start.
  const int64_t threads = std::clamp<int64_t>(M / (8 * packed::MR), 1, at::get_num_threads());
#pragma omp parallel num_threads(threads)
  {
    FlushDenormals flush;
    const int64_t me = omp_get_thread_num(), team = omp_get_num_threads();
    panels.fill(me, team);
#pragma omp barrier
    const int64_t chunk = ((M + team - 1) / team + packed::MR - 1) / packed::MR * packed::MR;
    const int64_t r0 = std::min(M, me * chunk), r1 = std::min(M, r0 + chunk);
    packed::gemm(r1 - r0, a + r0 * K, K, panels, c + r0 * N, N);
  }
  return C;
}

// (S^T @ B, B's column sums) for S (K, M) and B (K, N), both float32: the projection's weight and
// bias gradients X^T dY and sum_rows dY, whose depth K is batch x time. S is read in place (row by
// row), B packed in blocks (gemm_tn_parallel), its column sums taken from the packed blocks.
std::vector<at::Tensor> matmul_tn(const at::Tensor& S_, const at::Tensor& B_) {
  TORCH_CHECK(S_.scalar_type() == at::kFloat && B_.scalar_type() == at::kFloat, "matmul_tn takes float32, got ",
              S_.scalar_type(), " and ", B_.scalar_type());
  TORCH_CHECK(S_.dim() == 2 && B_.dim() == 2 && S_.size(0) == B_.size(0), "matmul_tn: shapes ", S_.sizes(), " and ",
              B_.sizes(), " do not match (S^T @ B needs as many rows in each)");
  TORCH_CHECK(S_.device().is_cpu() && B_.device().is_cpu(), "matmul_tn runs on the CPU");
  const at::Tensor S = S_.contiguous(), B = B_.contiguous();
  const int64_t K = S.size(0), M = S.size(1), N = B.size(1);
  std::vector<const float*> s_rows(K), b_rows(K);
  for (int64_t k = 0; k < K; ++k) {
    s_rows[k] = S.data_ptr<float>() + k * M;
    b_rows[k] = B.data_ptr<float>() + k * N;
  }
  at::Tensor C = at::empty({M, N}, S.options()), sums = at::empty({N}, S.options());
  packed::gemm_tn_parallel(at::get_num_threads(), M, K, {s_rows.data()}, {b_rows.data()}, N, C.data_ptr<float>(), N,
                           sums.data_ptr<float>());
  return {C, sums};
}
