"""Errors the lab raises for the user to act on."""


class OutputExistsError(FileExistsError):
    """The output folder already holds results; nothing is overwritten without being asked."""
