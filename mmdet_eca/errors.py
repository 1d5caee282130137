"""The exceptions bad input raises.

Each message is one line meant for users: it names the file, config entry
or value at fault and says what was expected instead. They subclass the
built-in exception of their kind (``ValueError``, ``FileNotFoundError``),
so code that catches those still catches them.
"""


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, converted or loaded."""


class ConfigError(ValueError):
    """A config entry that cannot work (names the file and the entry, e.g.
    ``model.backbone``)."""


class DataError(ValueError):
    """An annotation file or an image that cannot be used."""


class MissingFileError(FileNotFoundError):
    """A file or folder named in the config does not exist."""
