// The fused recurrence's entry points (recurrent.cpp), as module.cpp binds them: keyword arguments
// in, named tensors out (an undefined tensor reaches Python as None).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

struct ForwardResult {
  at::Tensor Y;      // h_1 .. h_T (B, T, U); a ring of the last two steps when only h_T was wanted
  at::Tensor h;      // h_T (B, U)
  at::Tensor C;      // LSTM: the cell states its backward needs (or the last two at inference)
  at::Tensor c;      // LSTM: c_T (B, U)
  at::Tensor gates;  // with save, LSTM and GRU: the activated gates of every step (T, B, G·U)
  at::Tensor extra;  // with save: LSTM act(c_t), GRU h_{t-1} U_h + b_h (T, B, U)
};

struct BackwardResult {
  at::Tensor dxp;  // the projected inputs' gradient (B, T, G·U)
  at::Tensor dr;   // GRU: the h~ block of the gradient of h_{t-1} U + b_rec (B, T, U), which but for that
                   // block is dxp; undefined for the others, whose is dxp
  at::Tensor dh0, dc0;  // undefined where there are none
  // with `gradients` (see backward): the weights' gradients, and the inputs' where the loop made the
  // projection; undefined where not asked for
  at::Tensor dU, dbrec;  // the recurrent kernel's, and its bias's (dZ's column sums)
  at::Tensor dx, dW, db;  // the inputs', the input kernel's and the input bias's
};

ForwardResult forward(int64_t kind, int64_t recurrent_activation, int64_t activation,
                      const c10::optional<at::Tensor>& xp, const c10::optional<at::Tensor>& x,
                      const c10::optional<at::Tensor>& kernel, const c10::optional<at::Tensor>& input_bias,
                      const at::Tensor& U, const c10::optional<at::Tensor>& brec, const at::Tensor& h0,
                      const c10::optional<at::Tensor>& c0, const c10::optional<at::Tensor>& lengths, bool save,
                      const c10::optional<at::Tensor>& out, bool sequence, const std::string& split,
                      const c10::optional<at::Tensor>& keep);

BackwardResult backward(int64_t kind, int64_t recurrent_activation, int64_t activation, const at::Tensor& U,
                        const at::Tensor& Y, const at::Tensor& h0,
                        const c10::optional<at::Tensor>& C, const c10::optional<at::Tensor>& gates,
                        const c10::optional<at::Tensor>& extra, const c10::optional<at::Tensor>& dY,
                        const c10::optional<at::Tensor>& dh_T, const c10::optional<at::Tensor>& dc_T,
                        const c10::optional<at::Tensor>& lengths, bool need_dh0, const std::string& split,
                        bool gradients, bool has_brec, const c10::optional<at::Tensor>& x,
                        const c10::optional<at::Tensor>& kernel, bool joint, bool bias_sums);

// (dU, dbrec[, dW]) from Y and h0 as forward left them and backward's dxp, with its dr for GRU's h~
// block, or with the layer's inputs X for the input kernel's gradient too: see recurrent_gradient_impl.
std::vector<at::Tensor> recurrent_gradient(const at::Tensor& Y, const at::Tensor& h0, const at::Tensor& DR,
                                           const c10::optional<at::Tensor>& DRh, bool has_brec,
                                           const c10::optional<at::Tensor>& X);

// How forward and backward share a call among torch's threads now: "one thread", "rows" or "units"
// (split_work).
std::string split_of(int64_t batch, int64_t steps, int64_t units, int64_t kernel_bytes, const std::string& split);
