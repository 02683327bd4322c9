"""Speed and memory benchmarks: rnnzoo against its peers and the GEMM floor, measured together.

    benchmark.py     rnnzoo vs torch.nn vs Keras vs the GEMM floor (`rnnzoo bench`)
    keras_worker.py  the Keras contender, run in its own process (its own Python, if need be)
    side_by_side.py  two trainings at once against each alone (`rnnzoo bench --side-by-side`)
    process.py       malloc thresholds, applied to every contender alike
"""
