"""`rnnzoo presets`: the shipped experiments, with their task and parameter count."""

from ..presets import catalogue


def add_parser(commands) -> None:
    parser = commands.add_parser("presets", help="list the shipped experiments (task, parameters, model)")
    parser.set_defaults(run=run)


def run(args) -> int:
    rows = catalogue()
    width = max(len(row["name"]) for row in rows)
    task_width = max(len(row["task"]) for row in rows)
    print(f"{'preset':{width}}  {'task':{task_width}}  {'params':>9}  epochs  model")
    for row in rows:
        print(f"{row['name']:{width}}  {row['task']:{task_width}}  {row['params']:>9,}  {row['epochs']:>6}  {row['model']}")
    return 0
