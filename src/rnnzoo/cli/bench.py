"""`rnnzoo bench`: rnnzoo vs torch.nn vs Keras vs the GEMM floor, on this machine's CPU."""


def add_parser(commands) -> None:
    parser = commands.add_parser("bench", help="time training and inference: rnnzoo, torch.nn, Keras, GEMM floor")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--png", metavar="PATH", help="write a chart (default: next to --json, .png)")
    parser.add_argument("--sweep", choices=("full", "lstm", "none"), default="full",
                        help="sizes beyond the notebook's models (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default: %(default)s)")
    parser.add_argument("--keras-python", metavar="PYTHON", help="a Python with TensorFlow (default: this one)")
    parser.add_argument("--no-mallopt", action="store_true", help="leave glibc's malloc thresholds as they are")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    parser.add_argument("--isa", choices=("native", "avx2"), default="native",
                        help="the native kernels' instructions: the widest this CPU has, or AVX2 only, to stand for "
                             "a CPU without AVX-512 (default: %(default)s)")
    parser.add_argument("--recalibrate", action="store_true",
                        help="time the GEMMs (and the threads' split of large kernels) again for every shape, dropping the "
                             "choices kept with the build (see Performance: 'The fastest GEMM for the big products')")
    parser.add_argument("--side-by-side", action="store_true",
                        help="instead: two trainings of the notebook's GRU at once against each alone, rnnzoo and "
                             "torch.nn (bench/side_by_side.py)")
    parser.add_argument("--minimal", action="store_true",
                        help="instead: MinGRU and MinLSTM (batch 64, T 784, 256 units) against mingru-pytorch "
                             "(bench/minimal.py)")
    parser.add_argument("--masks", action="store_true",
                        help="instead: masked and stateful batches against unmasked ones on the fused path "
                             "(bench/masks.py)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..bench.benchmark import run_benchmark
    from ..bench.masks import run_masks_bench
    from ..bench.minimal import run_minimal
    from ..bench.side_by_side import run_side_by_side

    if args.minimal:
        run_minimal(rounds=args.rounds)
        return 0
    if args.side_by_side:
        run_side_by_side()
        return 0
    if args.masks:
        run_masks_bench(json_path=args.json, rounds=args.rounds)
        return 0

    png = args.png or (args.json and str(args.json).removesuffix(".json") + ".png")
    run_benchmark(json_path=args.json, png_path=png, sweep=args.sweep, rounds=args.rounds,
                  keras_python_path=args.keras_python, mallopt=not args.no_mallopt, memory=not args.no_memory,
                  isa=args.isa, recalibrate=args.recalibrate)
    return 0
