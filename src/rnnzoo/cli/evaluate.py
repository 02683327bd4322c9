"""`rnnzoo evaluate RUN_DIR`: test a trained run's saved weights on its data set's test split."""

from ..lab import load_run
from ..lab.run import examples, test_scores
from ..training import evaluate
from .common import add_cache_dir, console


def add_parser(commands) -> None:
    parser = commands.add_parser("evaluate", help="evaluate a trained run folder on its test set")
    parser.add_argument("run_dir", help="a folder written by `rnnzoo train` or `rnnzoo reproduce` (e.g. results/.../lstm)")
    add_cache_dir(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    experiment, model = load_run(args.run_dir)
    task, _, test_set = examples(experiment, cache_dir=args.cache_dir)
    out_console = console()
    scores = evaluate(model, test_set, objective=task.objective, batch_size=experiment.training.batch_size,
                      console=out_console)
    out_console.print(f"{experiment.name}: {test_scores(scores)} on {len(test_set):,} examples of {task}")
    return 0
