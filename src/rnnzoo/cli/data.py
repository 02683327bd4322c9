"""`rnnzoo data fetch`: download (or find offline) and verify the data sets into the cache."""

from .. import data
from .common import add_cache_dir


def add_parser(commands) -> None:
    parser = commands.add_parser("data", help="manage the data cache")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = actions.add_parser("fetch", help="fetch and verify data sets into the cache")
    fetch.add_argument("--dataset", choices=[*data.DATASETS, "all"], default="mnist", help="default: %(default)s")
    fetch.add_argument("--force", action="store_true", help="fetch again even when cached")
    add_cache_dir(fetch)
    fetch.set_defaults(run=run_fetch)


def run_fetch(args) -> int:
    names = data.DATASETS if args.dataset == "all" else (args.dataset,)
    for name in names:
        dataset = data.fetch(name, cache_dir=args.cache_dir, force=args.force)
        where = data.default_cache_dir() if args.cache_dir is None else args.cache_dir
        print(f"{name}: {len(dataset.x_train):,} train / {len(dataset.x_test):,} test images, "
              f"verified, from {dataset.source}; cache {where}")
    return 0
