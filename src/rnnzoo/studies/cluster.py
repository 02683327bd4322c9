"""Run trials as Ray tasks on a cluster (`ray start --head`, then `--address HOST:PORT`).

The task is the same `run_trial` local workers call, so the same seeds and threads give the same
numbers. Each task asks Ray for `threads` CPUs; a task whose worker dies is retried by Ray and
resumes from its checkpoint. The output folder must be one every node sees (a shared file system,
or a one-node cluster like CI's).

The driver's `RNNZOO_*` environment variables go with every task. A Ray worker is started by the
cluster, not by the driver, so without them it would keep its GEMM choices elsewhere
($RNNZOO_CALIBRATION_DIR) or build the kernels in another cache ($RNNZOO_CACHE_DIR), and a shape
timed apart may run on another engine, which rounds differently.
"""

import os
from pathlib import Path

from .trials import Trial
from .worker import run_trial


def _task(trial, folder, options, datasets):
    run_trial(trial, folder, datasets=datasets, **options)  # Ray hands `datasets` over already fetched
    return trial.name


def runtime_env() -> dict:
    """Ray's runtime environment for the tasks: the driver's rnnzoo settings."""
    return {"env_vars": {name: value for name, value in os.environ.items() if name.startswith("RNNZOO_")}}


def run_ray(trials: list[Trial], out: Path, *, address: str, threads: int, retries: int = 2, on_done=None,
            **options) -> dict[str, str]:
    """Like `local.run_local`, on the Ray cluster at `address`; returns {name: error} for failures."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("--address needs Ray: pip install 'ray>=2.5'") from None
    ray.init(address=address, runtime_env=runtime_env(), log_to_driver=False, configure_logging=False)
    try:
        datasets = options.pop("datasets", None)
        shared = ray.put(datasets)  # one copy in the object store, not one per task
        options = dict(options, threads=threads)
        remote = ray.remote(num_cpus=threads, max_retries=retries)(_task)
        running = {remote.remote(t, str(Path(out).resolve() / t.name), options, shared): t for t in trials}
        failures = {}
        while running:
            [ref], _ = ray.wait(list(running), num_returns=1)
            trial = running.pop(ref)
            try:
                ray.get(ref)
                error = None
            except Exception as failure:  # a RayTaskError wraps the trial's own exception
                cause = getattr(failure, "cause", None) or failure
                error = failures[trial.name] = f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}"
            if on_done:
                on_done(trial, error)
        return failures
    finally:
        ray.shutdown()

