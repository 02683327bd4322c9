// The Python module of rnnzoo's native kernels: one extension built from every file in this folder.

#include <torch/extension.h>

#include <vector>

// recurrent.cpp
std::vector<at::Tensor> forward(int64_t kind, int64_t recurrent_activation, int64_t activation,
                                c10::optional<at::Tensor> xp, at::Tensor U, c10::optional<at::Tensor> brec,
                                at::Tensor h0, c10::optional<at::Tensor> c0, c10::optional<at::Tensor> lengths,
                                bool save, c10::optional<at::Tensor> out, c10::optional<at::Tensor> x,
                                c10::optional<at::Tensor> kernel, c10::optional<at::Tensor> input_bias,
                                bool sequence);
std::vector<at::Tensor> backward(int64_t kind, int64_t recurrent_activation, int64_t activation,
                                 at::Tensor U, bool has_brec, at::Tensor Y, at::Tensor h0, c10::optional<at::Tensor> C,
                                 c10::optional<at::Tensor> Gs, c10::optional<at::Tensor> X,
                                 c10::optional<at::Tensor> dY, c10::optional<at::Tensor> dh_last,
                                 c10::optional<at::Tensor> dc_last, c10::optional<at::Tensor> lengths,
                                 bool need_dh0);
// dropout.cpp
at::Tensor dropout_mask_apply(at::Tensor x, int64_t key0, int64_t key1, int64_t threshold, double scale);

// matmul.cpp
at::Tensor matmul(const at::Tensor& A, const at::Tensor& B, const c10::optional<at::Tensor>& bias);
std::vector<at::Tensor> matmul_tn(const at::Tensor& S, const at::Tensor& B);

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "rnnzoo native kernels (CPU): fused recurrences, packed matmul and counter-based dropout";
  m.def("forward", &forward,
        "forward over time from the projected inputs xp, or from the inputs x with their kernel and input bias "
        "(float32): returns Y (B, T, U; written into out if given; without save and sequence, only a ring of the "
        "last two steps), h_T, [C, c_T], [gates, extra] (if save)",
        pybind11::arg("kind"), pybind11::arg("recurrent_activation"), pybind11::arg("activation"), pybind11::arg("xp"),
        pybind11::arg("U"), pybind11::arg("brec"), pybind11::arg("h0"), pybind11::arg("c0"), pybind11::arg("lengths"),
        pybind11::arg("save"), pybind11::arg("out") = pybind11::none(), pybind11::arg("x") = pybind11::none(),
        pybind11::arg("kernel") = pybind11::none(), pybind11::arg("input_bias") = pybind11::none(),
        pybind11::arg("sequence") = true);
  m.def("backward", &backward, "hand BPTT: returns dxp, dU, dbrec, dh0 (if need_dh0), dc0");
  m.def("matmul", &matmul, "A @ B + bias in float32 (B as stored, or a transposed contiguous matrix)",
        pybind11::arg("A"), pybind11::arg("B"), pybind11::arg("bias") = pybind11::none());
  m.def("matmul_tn", &matmul_tn, "(S^T @ B, B.sum(0)) in float32 (S and B with the same number of rows)");
  m.def("dropout", &dropout_mask_apply, "x * keep(index; keys) * scale, the mask of kernels/dropout.py");
}
