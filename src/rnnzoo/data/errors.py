"""The one exception type the data package raises for users."""


class DataError(Exception):
    """A dataset could not be fetched, decoded, verified or cached.

    Messages are one line and name the source or file involved and what was
    expected versus what was found, so a user can act on them without a traceback.
    """
