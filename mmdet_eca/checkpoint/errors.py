"""The one exception the checkpoint conversion raises for bad input."""


class CheckpointError(ValueError):
    """A source file that cannot be read or converted.

    The message is one line meant for users: it names the file (when one is
    involved) and says what was expected instead.
    """
