// The packed products of matmul.cpp, as module.cpp binds them and recurrent.cpp's backward calls them.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

// A @ B (+ bias) in float32: B as stored, or the transpose of a contiguous matrix (kernel.t())
at::Tensor matmul(const at::Tensor& A, const at::Tensor& B, const c10::optional<at::Tensor>& bias);

// (S^T @ B, B's column sums) in float32, for S (K, M) and B (K, N)
std::vector<at::Tensor> matmul_tn(const at::Tensor& S, const at::Tensor& B);
