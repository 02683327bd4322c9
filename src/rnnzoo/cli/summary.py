"""`rnnzoo summary MODEL`: print Keras' summary table of a preset or experiment file."""

from .common import experiment_from


def add_parser(commands) -> None:
    parser = commands.add_parser("summary", help="print a model's Keras-style summary")
    parser.add_argument("model", help="a preset (`rnnzoo presets` lists them) or an experiment .toml file")
    parser.set_defaults(run=run)


def run(args) -> int:
    experiment_from(args.model).build_model().summary()
    return 0
