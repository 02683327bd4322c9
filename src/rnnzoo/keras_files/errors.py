"""The one error a Keras file that can't be used raises."""


class KerasFileError(ValueError):
    """A Keras file rnnzoo refuses: unsafe, damaged, or holding something rnnzoo cannot build.

    The message is one line: the file, what is wrong, and what was expected.
    """
