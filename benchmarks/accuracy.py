"""float32 error of the fused runner at full size, against the float64 reference loop.

For each of the notebook's models (batch 64, T = 28, training mode without dropout masks
differing: dropout layers are switched off), the relative error ||fused32 - ref64|| / ||ref64||
of the logits and of every parameter's gradient; the reference loop in float32 is shown
alongside, as the yardstick of float32 rounding itself.

    python benchmarks/accuracy.py
"""

import copy

import torch

from rnnzoo.presets import NOTEBOOK_MODELS, preset


def set_backend(model, backend):
    for module in model.modules():
        if hasattr(module, "backend"):
            module.backend = backend
    return model


def logits_and_grads(model, x, y):
    model.zero_grad()
    logits = model(x)
    torch.nn.functional.cross_entropy(logits, y).backward()
    return [logits.detach()] + [p.grad.detach().clone() for p in model.parameters()]


def relative(a, b):
    return float((a.double() - b).norm() / b.norm())


def main():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(64, 28, 28, generator=generator)
    y = torch.randint(0, 10, (64,), generator=generator)
    for name in NOTEBOOK_MODELS:
        torch.manual_seed(0)
        model = preset(name).eval()  # eval: dropout off, so every run sees the same function
        ref64 = logits_and_grads(set_backend(copy.deepcopy(model), "reference").double(), x.double(), y)
        fused32 = logits_and_grads(set_backend(copy.deepcopy(model), "fused"), x, y)
        ref32 = logits_and_grads(set_backend(copy.deepcopy(model), "reference"), x, y)
        fused_err = [relative(a, b) for a, b in zip(fused32, ref64)]
        ref_err = [relative(a, b) for a, b in zip(ref32, ref64)]
        print(f"{name:10} logits: fused32 {fused_err[0]:.1e} (reference32 {ref_err[0]:.1e}); "
              f"gradients: fused32 max {max(fused_err[1:]):.1e} (reference32 max {max(ref_err[1:]):.1e})")


if __name__ == "__main__":
    main()
