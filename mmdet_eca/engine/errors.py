"""The exceptions bad input raises, and the one line each becomes.

Every tool runs its work through :func:`run_tool`, so a given exception
reads the same from ``tools/train.py``, ``tools/test.py`` and
``tools/infer.py``: ``error: <what, naming the file, key or value, and what
was expected>`` on stderr, exit status 1, and a traceback only with
``--debug`` (the style of ``tools/convert_eca_weights.py``).
"""
import re
import sys
import traceback
from typing import Any, Callable

from ..errors import CheckpointError, ConfigError, DataError


# Errors that are about the user's input; anything else is presumably a bug
# and is shown with its type and a hint to rerun with --debug.
INPUT_ERRORS = (ConfigError, DataError, CheckpointError, OSError, ValueError,
                KeyError, FloatingPointError)

# torch re-raises a DataLoader worker's exception with the worker's whole
# traceback as its message
_WORKER = re.compile(r'^Caught (\w+) in DataLoader worker process \d+')
# mmcv's LoadImageFromFile on bytes that do not decode
_UNDECODABLE = re.compile(r'failed to load image: (.+)$')


def _message(err: BaseException) -> str:
    if isinstance(err, KeyError) and len(err.args) == 1:
        return str(err.args[0])  # str() of a KeyError adds quotes
    return str(err)


def _worker_error(err: BaseException):
    """``(type name, message)`` of the exception a DataLoader worker
    raised, or None if ``err`` did not come from a worker."""
    text = str(err)
    found = _WORKER.match(text)
    if not found:
        return None
    last = [line for line in text.splitlines() if line.strip()][-1]
    name = found.group(1)
    return name, last[len(name) + 2:] if last.startswith(name + ':') \
        else last


def error_line(err: BaseException) -> str:
    """The one-line message the tools print for ``err``.

    Args:
        err (BaseException): What the run raised.

    Returns:
        str: One line, without the ``error:`` prefix.
    """
    type_name, message = type(err).__name__, _message(err)
    from_worker = _worker_error(err)
    if from_worker:
        type_name, message = from_worker
    undecodable = _UNDECODABLE.search(message)
    if undecodable:
        return (f'image {undecodable.group(1)} could not be decoded: '
                'expected an image file (corrupt, or another format?)')
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    first = lines[0] if lines else type_name
    if isinstance(err, INPUT_ERRORS) and not from_worker:
        return first
    return f'{type_name}: {first} (run with --debug for the traceback)'


def run_tool(work: Callable[[], Any], debug: bool = False) -> int:
    """Run a tool's ``work`` and turn a failure into one line on stderr.

    Args:
        work (callable): The tool's work, taking no arguments.
        debug (bool): Also print the traceback. Defaults to False.

    Returns:
        int: The exit status: 0, 1 on an error, 130 when interrupted.
    """
    try:
        work()
    except KeyboardInterrupt:
        print('error: interrupted', file=sys.stderr)
        return 130
    except Exception as err:  # noqa: B902  every failure becomes one line
        if debug:
            traceback.print_exc()
        print(f'error: {error_line(err)}', file=sys.stderr)
        return 1
    return 0
