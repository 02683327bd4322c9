"""Keras files <-> run folders: `rnnzoo import` and `rnnzoo export` as library calls.

An imported model becomes a run folder like the ones `rnnzoo train` writes (experiment.json and
weights.safetensors, no result.json since nothing was trained here), so `rnnzoo evaluate`,
`rnnzoo train` on its experiment.json and `rnnzoo export` all accept it.
"""

from pathlib import Path

import safetensors.torch

from ..config import ConfigError, Experiment, parse
from ..files import atomic_write
from ..lab import load_run
from ..lab.errors import OutputExistsError
from ..lab.run import write_json
from .configs import identifier, stateful_batch
from .errors import KerasFileError
from .load import read_keras
from .save import save_keras


def import_run(keras_path, run_dir, dataset: str = "mnist", overwrite: bool = False) -> Experiment:
    """Load a Keras model file and write it as a run folder; nothing is written if loading fails."""
    run_dir = Path(run_dir)
    if not overwrite and any((run_dir / name).exists() for name in ("experiment.json", "weights.safetensors")):
        raise OutputExistsError(f"{run_dir} already holds a run; pass --overwrite to replace it")
    loaded = read_keras(keras_path)
    pairs = [spec["name"] for spec in loaded.specs if spec["type"] == "Bidirectional" and spec.get("merge_mode", "") is None]
    if pairs:
        raise KerasFileError(f"{keras_path}: layer {pairs[0]!r} outputs a pair (merge_mode None); a run folder's "
                             "model must output one tensor of logits (load it with rnnzoo.load_keras instead)")
    input_shape = [d for d in loaded.input_shape if d is not None]  # a free time axis is left out
    data = {"name": identifier(loaded.name), "notes": f"imported from the Keras file {Path(keras_path).name}",
            "model": {"input": input_shape, "layers": loaded.specs}, "data": {"dataset": dataset}}
    batch = stateful_batch(loaded.model)
    if batch is not None:  # a stateful model runs at the batch size it declares, as in Keras
        data["training"] = {"batch_size": batch}
    try:
        experiment = parse(data, str(keras_path))
    except ConfigError as error:  # e.g. a model that doesn't read the task's features
        raise KerasFileError(f"{error} (a run folder's model must fit its task; use rnnzoo.load_keras in Python "
                             "for any other model)") from None
    state = {k: v.detach().cpu().contiguous() for k, v in loaded.model.state_dict().items()}
    if set(state) != set(experiment.build_model().state_dict()):
        raise KerasFileError(f"{keras_path}: the rebuilt experiment's weights differ from the loaded model's")
    atomic_write(run_dir / "weights.safetensors", safetensors.torch.save(state))
    write_json(run_dir / "experiment.json", experiment.to_dict())
    return experiment


def export_run(run_dir, keras_path, overwrite: bool = False) -> Path:
    """Write a run folder's trained model as a Keras 3 .keras archive (or .weights.h5)."""
    _, model = load_run(run_dir)
    return save_keras(model, keras_path, overwrite=overwrite)
