"""Keras model files in and out: `.keras` archives, legacy `.h5` models, `.weights.h5` weights.

    model = rnnzoo.load_keras("mnist_lstm.keras")     # an rnnzoo Sequential, Keras' weights
    rnnzoo.save_keras(model, "back.keras")            # keras.saving.load_model reads it

configs.py maps layer configs both ways (and refuses what can't be converted), weights.py maps
weights to their HDF5 names, archive.py reads .keras zips with care, load.py and save.py put them
together, runs.py turns files into run folders and back.
"""

from .errors import KerasFileError
from .load import load_keras
from .runs import export_run, import_run
from .save import save_keras

__all__ = ["KerasFileError", "export_run", "import_run", "load_keras", "save_keras"]
