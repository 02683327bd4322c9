"""Where rnnzoo keeps files between runs: one cache folder, shared by data and kernel builds.

    cache_dir()   $RNNZOO_CACHE_DIR, else $XDG_CACHE_HOME/rnnzoo, else ~/.cache/rnnzoo

It lives here, outside every subpackage, so that `data` (downloaded datasets) and `kernels`
(compiled extensions) both use it without depending on each other.
"""

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$RNNZOO_CACHE_DIR``, else ``$XDG_CACHE_HOME/rnnzoo``, else ``~/.cache/rnnzoo``."""
    if explicit := os.environ.get("RNNZOO_CACHE_DIR"):
        return Path(explicit).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg) / "rnnzoo"
    return Path.home() / ".cache" / "rnnzoo"
