"""What minGRU and minLSTM share: gates from x_t alone, so the recurrence is linear in h.

Feng et al. 2024, "Were RNNs All We Needed?" (https://arxiv.org/abs/2410.01201). Their gates and
candidate read only x_t, never h_{t-1}, so every step is

    h_t = a_t ⊙ h_{t-1} + b_t          a_t, b_t computed for all steps at once from x

and what is left of the loop is T elementwise multiply-adds. On the CPU it runs as such, one node
with a hand-written backward (`kernels.linear_scan`, native). On other devices, with a_t > 0 and
b_t ≥ 0, it runs as a parallel scan in log space (Heinsen 2023, "Efficient Parallelization of a
Ubiquitous Sequential Computation", https://arxiv.org/abs/2311.06281), with a* = cumsum(log a):

    h_t = exp(a*_t) ⊙ h_0 + exp(a*_t + logcumsumexp(log b - a*)_t)

The candidate goes through g(v) = v + 0.5 for v ≥ 0, sigmoid(v) below (the paper's appendix), which
keeps it positive. The h_0 term stands apart, so an initial state of either sign is exact.

Layout, Keras-style: kernel (F, G·U) multiplies x_t, bias (G·U,), the G blocks side by side as
each layer lists them. `backend="reference"` steps through time with autograd (the readable
definition); "auto" runs the linear scan on the CPU and the log-space scan elsewhere. All three
compute the same function.
Variable lengths: a padded step has a = 1, b = 0 (the state carries) and outputs zeros.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .. import kernels
from . import initializers
from .layer import Layer, Shape, keeps_config
from .rnn import check_lengths, reverse_padded

BACKENDS = ("auto", "reference")


def g(v: torch.Tensor) -> torch.Tensor:
    """The paper's positive candidate: v + 0.5 for v ≥ 0, sigmoid(v) below (continuous at 0)."""
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def log_g(v: torch.Tensor) -> torch.Tensor:
    return torch.where(v >= 0, torch.log(F.relu(v) + 0.5), -F.softplus(-v))


def scan(log_a: torch.Tensor, log_b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """h_1..h_T of h_t = a_t h_{t-1} + b_t over dim 1, a and b (B, T, U) given by their logs."""
    a_star = torch.cumsum(log_a, dim=1)
    return torch.exp(a_star) * h0[:, None] + torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))


class MinimalRNN(Layer):
    """A recurrence h_t = a_t ⊙ h_{t-1} + b_t with a_t, b_t from x_t alone. Subclasses choose them."""

    gates: int = 1  # column blocks in kernel / bias

    @keeps_config
    def __init__(self, units: int, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, backend: str = "auto", input_dim: int | None = None,
                 name: str | None = None):
        super().__init__(name)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.units, self.use_bias, self.backend = units, use_bias, backend
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards
        if input_dim is not None:
            self.build((None, None, input_dim))

    # -- the two things a subclass says -------------------------------------------------------
    def coefficients(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a, b) from the projected inputs z = x W + b, each (B, T, U)."""
        raise NotImplementedError

    def log_coefficients(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log a, log b), computed stably from z."""
        raise NotImplementedError

    # -- weights ---------------------------------------------------------------------------------
    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 3:
            raise ValueError(f"{self.name} expects input of shape (batch, time, features), got {input_shape}")
        features = input_shape[-1]
        self.kernel = nn.Parameter(torch.empty(features, self.gates * self.units))
        self.bias = nn.Parameter(torch.empty(self.gates * self.units)) if self.use_bias else None
        self.kernel_initializer(self.kernel)
        if self.bias is not None:
            self.bias_initializer(self.bias)
        self.built = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        batch, steps, _ = input_shape
        return (batch, steps, self.units) if self.return_sequences else (batch, self.units)

    # -- the loop --------------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, lengths=None, initial_state=None):
        x = self._check_inputs(inputs)
        batch, steps, _ = x.shape
        lengths = check_lengths(lengths, batch, steps, x.device)
        if self.go_backwards:
            x = reverse_padded(x, lengths)
        h0 = self._initial_state(initial_state, batch, x)
        z = x @ self.kernel if self.bias is None else torch.addmm(self.bias, x.flatten(0, 1), self.kernel).view(
            batch, steps, -1)
        running = None if lengths is None else (torch.arange(steps, device=x.device) < lengths[:, None])[..., None]
        if self.backend == "reference":
            outputs = self._step_by_step(z, h0, running)
        elif x.device.type == "cpu":
            outputs = kernels.linear_scan(*self._padded_coefficients(z, running), h0)
        else:
            outputs = self._log_scan(z, h0, running)
        final = outputs[:, -1]  # padded steps carry the state: the last step's is final
        if running is not None:
            outputs = outputs * running  # padded steps output zeros
        output = outputs if self.return_sequences else final
        return (output, final) if self.return_state else output

    def _padded_coefficients(self, z, running):
        """(a, b) with a = 1, b = 0 on padded steps, so the state carries across them."""
        a, b = self.coefficients(z)
        if running is not None:
            a, b = torch.where(running, a, 1.0), b * running
        return a, b

    def _step_by_step(self, z, h, running):
        a, b = self._padded_coefficients(z, running)
        outputs = []
        for a_t, b_t in zip(a.unbind(1), b.unbind(1)):  # unbind: one gradient node, not T full-size ones
            h = a_t * h + b_t
            outputs.append(h)
        return torch.stack(outputs, dim=1)

    def _log_scan(self, z, h0, running):
        log_a, log_b = self.log_coefficients(z)
        if running is not None:  # a = 1, b = 0 on padded steps
            log_a = torch.where(running, log_a, 0.0)
            log_b = torch.where(running, log_b, float("-inf"))
        return scan(log_a, log_b, h0)

    def _check_inputs(self, inputs) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3 or inputs.shape[1] < 1:
            shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
            raise ValueError(f"{self.name} expects input of shape (batch, time >= 1, features), got {shape}")
        self.build_for(inputs)
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{self.name} was built for {self.kernel.shape[0]} input features, got {inputs.shape[-1]}")
        return inputs

    def _initial_state(self, given, batch: int, like: torch.Tensor) -> torch.Tensor:
        if given is None:
            return like.new_zeros(batch, self.units)
        state = given[0] if isinstance(given, (tuple, list)) and len(given) == 1 else given
        if not isinstance(state, torch.Tensor) or state.shape != (batch, self.units):
            raise ValueError(f"{self.name} expects initial_state of shape {(batch, self.units)}, got "
                             f"{tuple(state.shape) if isinstance(state, torch.Tensor) else type(state).__name__}")
        return state

    def extra_repr(self) -> str:
        flags = [f for f in ("return_sequences", "return_state", "go_backwards") if getattr(self, f)]
        backend = [] if self.backend == "auto" else [f"backend={self.backend!r}"]
        return ", ".join([f"name={self.name!r}", f"units={self.units}", *(f"{f}=True" for f in flags), *backend])
