// The Python module of rnnzoo's native kernels: one extension built from every file in this folder.
// The recurrence's entry points take keyword arguments, and return named tensors. forward takes them
// in order too: fused.py calls it so, since by keyword pybind11 makes a string of every argument's
// name on every call, which a one-step call notices.

#include <pybind11/stl.h>
#include <torch/csrc/utils/pybind.h>  // pybind11 and the tensor casters, without the C++ frontend

#include <vector>

#include "matmul.h"
#include "recurrent.h"

// dropout.cpp
at::Tensor dropout_mask_apply(at::Tensor x, int64_t key0, int64_t key1, int64_t threshold, double scale);

// linear_scan.cpp
at::Tensor linear_scan(const at::Tensor& a, const at::Tensor& b, const at::Tensor& h0);
std::vector<at::Tensor> linear_scan_backward(const at::Tensor& a, const at::Tensor& h0, const at::Tensor& H,
                                             const at::Tensor& dH);

namespace py = pybind11;

// Every entry point lets go of the GIL while it computes, as torch's own ops do. The kernels' worker
// threads may need it: ATen copies the caller's thread-local state into them, and with Python hooks
// installed (torch.autograd.graph.saved_tensors_hooks, hence torch.utils.checkpoint) that copy takes
// the GIL, which a caller waiting at the parallel region's end would otherwise hold forever.
using without_gil = py::call_guard<py::gil_scoped_release>;

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "rnnzoo native kernels (CPU): fused recurrences, linear scans, packed matmul and counter-based dropout";
  // module_local: each build (kernels.configure(isa=...)) registers its own, so two can load together
  py::class_<ForwardResult>(m, "ForwardResult", py::module_local())
      .def_readonly("Y", &ForwardResult::Y)
      .def_readonly("h", &ForwardResult::h)
      .def_readonly("C", &ForwardResult::C)
      .def_readonly("c", &ForwardResult::c)
      .def_readonly("gates", &ForwardResult::gates)
      .def_readonly("extra", &ForwardResult::extra);
  py::class_<BackwardResult>(m, "BackwardResult", py::module_local())
      .def_readonly("dxp", &BackwardResult::dxp)
      .def_readonly("dr", &BackwardResult::dr)
      .def_readonly("dh0", &BackwardResult::dh0)
      .def_readonly("dc0", &BackwardResult::dc0)
      .def_readonly("dU", &BackwardResult::dU)
      .def_readonly("dbrec", &BackwardResult::dbrec)
      .def_readonly("dx", &BackwardResult::dx)
      .def_readonly("dW", &BackwardResult::dW)
      .def_readonly("db", &BackwardResult::db);
  m.def("forward", &forward,
        "the recurrence over time, from the projected inputs xp or (float32) from the inputs x with their "
        "kernel and input bias; Y is written into out if given; without save and sequence it is only a ring "
        "of the last two steps; gates and extra are kept for the backward pass with save; keep (float32, "
        "outliving the call, lent with weights that outlive it) holds the packed kernels between calls",
        without_gil(), py::arg("kind"), py::arg("recurrent_activation"), py::arg("activation"),
        py::arg("xp") = py::none(), py::arg("x") = py::none(), py::arg("kernel") = py::none(),
        py::arg("input_bias") = py::none(), py::arg("U"), py::arg("brec") = py::none(), py::arg("h0"),
        py::arg("c0") = py::none(), py::arg("lengths") = py::none(), py::arg("save"), py::arg("out") = py::none(),
        py::arg("sequence") = true, py::arg("split") = "auto", py::arg("keep") = py::none());
  m.def("backward", &backward,
        "hand BPTT from what forward saved: dxp, dr (GRU: the h~ block of the gradient of h_{t-1} U + b_rec, "
        "which but for that block is dxp; None for the others), dh0 (if need_dh0), dc0; with gradients (float32) "
        "also dU, dbrec (if has_brec) and, for a loop that made the projection of x, dx (given kernel), "
        "dW (given x: from dU's product if joint) and db (if bias_sums), on rnnzoo's GEMMs",
        without_gil(), py::kw_only(), py::arg("kind"), py::arg("recurrent_activation"), py::arg("activation"),
        py::arg("U"), py::arg("Y"), py::arg("h0"), py::arg("C") = py::none(), py::arg("gates") = py::none(),
        py::arg("extra") = py::none(), py::arg("dY") = py::none(), py::arg("dh_T") = py::none(),
        py::arg("dc_T") = py::none(), py::arg("lengths") = py::none(), py::arg("need_dh0"),
        py::arg("split") = "auto", py::arg("gradients") = false, py::arg("has_brec") = false,
        py::arg("x") = py::none(), py::arg("kernel") = py::none(), py::arg("joint") = false,
        py::arg("bias_sums") = false);
  m.def("recurrent_gradient", &recurrent_gradient,
        "(dU, dbrec) = (sum of h_{t-1}^T dr_t, dr's column sums if has_brec) in float32, states read in place; "
        "with dr_h (B, T, U), dr's last U columns are dr_h's; with x (B, T, F), not with dr_h, (dU, dbrec, dW) "
        "with dW = sum of x_t^T dr_t from the same product",
        without_gil(), py::kw_only(), py::arg("Y"), py::arg("h0"), py::arg("dr"), py::arg("dr_h") = py::none(),
        py::arg("has_brec"), py::arg("x") = py::none());
  m.def("split_of", &split_of,
        "how forward and backward would share a call among torch's threads now: \"one thread\", \"rows\" "
        "or \"units\" (kernel_bytes: the recurrent kernel's size)",
        py::kw_only(), py::arg("batch"), py::arg("steps"), py::arg("units"), py::arg("kernel_bytes"),
        py::arg("split") = "auto");
  m.def("matmul", &matmul, "A @ B + bias in float32 (B as stored, or a transposed contiguous matrix)",
        without_gil(), py::arg("A"), py::arg("B"), py::arg("bias") = py::none());
  m.def("matmul_tn", &matmul_tn, "(S^T @ B, B.sum(0)) in float32 (S and B with the same number of rows)",
        without_gil(), py::arg("S"), py::arg("B"));
  m.def("linear_scan", &linear_scan, "h_1..h_T of h_t = a_t * h_{t-1} + b_t, elementwise, all (B, T, U)",
        without_gil(), py::arg("a"), py::arg("b"), py::arg("h0"));
  m.def("linear_scan_backward", &linear_scan_backward, "(da, db, dh0) of linear_scan given dL/dH",
        without_gil(), py::arg("a"), py::arg("h0"), py::arg("H"), py::arg("dH"));
  m.def("dropout", &dropout_mask_apply, "x * keep(index; keys) * scale, the mask of kernels/dropout.py",
        without_gil(), py::arg("x"), py::arg("key0"), py::arg("key1"), py::arg("threshold"), py::arg("scale"));
}
