"""Studies: grids of experiments × seeds run as ordinary run folders, compared with statistics.

    >>> from rnnzoo.studies import run_study
    >>> run = run_study("claims", quick=True)        # or a study .toml; --address for Ray
    >>> run.results["claims"][0]["verdict"]

See docs/studies.md for the study file and what the report holds.
"""

from .runner import StudyFailed, StudyRun, run_study
from .spec import SHIPPED, Study, StudyError, load_study, parse_study
from .trials import Trial, expand

__all__ = ["SHIPPED", "Study", "StudyError", "StudyFailed", "StudyRun", "Trial", "expand", "load_study",
           "parse_study", "run_study"]
