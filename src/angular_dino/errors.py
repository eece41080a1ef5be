"""The exceptions the command line turns into a clear message and exit status 2."""


class UserError(Exception):
    """Bad input from the user (config, data, paths): the message says what was wrong and what to do."""


class NonFiniteScores(UserError):
    """Anomaly scores came out NaN or infinite, so no metric or threshold exists; the message says what to change."""


class TrainingDiverged(UserError):
    """The loss became NaN or infinite (any method's training); the message names where and what to lower."""


class InputError(UserError, ValueError):
    """Arrays the Python API cannot read as images or labels; also a ValueError, as scikit-learn expects of bad input."""
