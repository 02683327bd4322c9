"""Fast paths behind the recurrent layers (measured by `rnnzoo.bench`).

    fused.py         the fused runner: one autograd node per layer, hand-written BPTT, and the
                     eligibility list that `rnn.RNN` checks for backend="auto" / "fused"
    native/          the C++ kernels (built once by build.py, cached under the user cache)
    portable.py      the same contract in pure PyTorch, for any activation or when no compiler
    dropout.py       the Dropout layer's counter-based mask (native, or the same in tensor ops)
"""
