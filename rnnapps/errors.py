"""Errors that rnnapps raises on purpose.

Every failure a user can cause (bad options, bad data, missing or corrupted files)
surfaces as one of these, with a message that says what to do, instead of a stack
trace from deep inside TensorFlow.
"""


class RnnappsError(Exception):
    """Base class of every error rnnapps raises on purpose."""


class ConfigError(RnnappsError, ValueError):
    """An option or combination of options is invalid."""


class DataError(RnnappsError, ValueError):
    """Input data is missing, empty, malformed or inconsistent."""


class DataUnavailableError(DataError):
    """A dataset could not be found or downloaded (for example TFDS offline)."""


class ModelFileError(RnnappsError, OSError):
    """A saved app or export is missing, incomplete or corrupted."""
