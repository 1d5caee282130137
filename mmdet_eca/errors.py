"""The exceptions bad input raises.

Each message is one line meant for users: it names the file, config entry
or value at fault and says what was expected instead. They subclass
``ValueError``, so code that catches MMEngine's or torch's value errors
still catches them.
"""


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, converted or loaded."""


class ConfigError(ValueError):
    """A config entry that cannot work (names the file and the entry, e.g.
    ``model.backbone``)."""


class DataError(ValueError):
    """An annotation file or an image that cannot be used."""
