"""Say which config entry a failed build came from.

When a component fails to build, MMEngine's registry passes the error up
unchanged: "ResNet.__init__() got an unexpected keyword argument
'eca_kernel_size'", or a backbone's own ValueError, with no word of the
config entry behind it. :func:`explain_build_error` finds that entry (the
innermost registry build in the traceback holds it), locates it in the
config (``model.backbone``) and words the error as one line, suggesting the
valid argument or registered type closest to a misspelt one.
"""
import difflib
import inspect
import re
from contextlib import contextmanager
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config

from ..errors import CheckpointError, ConfigError, DataError

_UNEXPECTED = re.compile(r"got an unexpected keyword argument '(\w+)'")
_NOT_REGISTERED = re.compile(r'^(\S+) is not in the (\S+) registry')


def _failed_build(err: BaseException) -> Tuple[Optional[dict], object,
                                               object]:
    """``(config node, class, registry)`` of the innermost MMEngine
    ``build_from_cfg`` call in ``err``'s traceback (Nones if none)."""
    found = (None, None, None)
    tb = err.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == 'build_from_cfg' and frame.f_globals.get(
                '__name__', '').startswith('mmengine.registry'):
            local = frame.f_locals
            found = (local.get('cfg'), local.get('obj_cls'),
                     local.get('registry'))
        tb = tb.tb_next
    return found


def _nodes(value, path: str) -> Iterator[Tuple[str, dict]]:
    if isinstance(value, dict):
        if 'type' in value:
            yield path, value
        for key, child in value.items():
            yield from _nodes(child, f'{path}.{key}' if path else str(key))
    elif isinstance(value, (list, tuple)):
        for i, child in enumerate(value):
            yield from _nodes(child, f'{path}[{i}]')


def _config_path(cfg: Config, node: dict) -> Optional[str]:
    """Where ``node`` is in ``cfg``: the entry equal to it or, as builders
    add arguments (train_cfg, ...), the one entry of its type it extends."""
    nodes = list(_nodes(cfg.to_dict(), ''))
    for path, candidate in nodes:
        if candidate == node:
            return path
    extended = [
        path for path, candidate in nodes
        if candidate.get('type') == node.get('type') and all(
            key in node and node[key] == value
            for key, value in candidate.items())
    ]
    return extended[0] if len(extended) == 1 else None


def init_arguments(cls) -> List[str]:
    """Keyword arguments ``cls(...)`` accepts, following ``**kwargs`` up
    the base classes (``ECAResNet`` passes its ``**kwargs`` to ``ResNet``).
    """
    names: List[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None or klass is object:
            continue
        params = inspect.signature(init).parameters.values()
        names += [
            p.name for p in params if p.name != 'self' and p.name not in names
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def _registered_names(registry) -> List[str]:
    names = []
    while registry is not None:
        names += list(registry.module_dict)
        registry = registry.parent
    return names


def _closest(word: str, choices: List[str]) -> Optional[str]:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _detail(err: BaseException, node: dict, cls, registry) -> str:
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args \
        else str(err)
    unexpected = _UNEXPECTED.search(text)
    if isinstance(err, TypeError) and unexpected and cls is not None and \
            unexpected.group(1) in node:
        key = unexpected.group(1)
        valid = init_arguments(cls)
        close = _closest(key, valid)
        hint = f'did you mean {close}?' if close else \
            f"{cls.__name__} takes {', '.join(valid)}"
        return f'unknown argument {key}={node[key]!r}; {hint}'
    unregistered = _NOT_REGISTERED.match(text)
    if isinstance(err, KeyError) and unregistered and registry is not None:
        name, scope = unregistered.groups()
        close = _closest(name, _registered_names(registry))
        hint = f'did you mean {close!r}?' if close else (
            'is the package that registers it in custom_imports?')
        return f'unknown type {name!r} (not in the {scope} registry); {hint}'
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def explain_build_error(err: BaseException,
                        cfg: Config) -> Optional[ConfigError]:
    """A one-line :class:`ConfigError` for ``err``, if a component built
    from ``cfg`` raised it; None for any other error.

    Args:
        err (BaseException): What building (a Runner, a model, a dataset,
            ...) raised.
        cfg (Config): The config it was built from.

    Returns:
        ConfigError | None: Names the config file, the entry and the
        problem, e.g. ``"cfg.py: model.backbone (ECAResNet): unknown
        argument eca_kernel_size=3; did you mean eca_kernel_sizes?"``.
    """
    if isinstance(err, (ConfigError, DataError, CheckpointError)):
        return None  # already says what is wrong
    node, cls, registry = _failed_build(err)
    if not isinstance(node, dict):
        return None
    label = getattr(cls, '__name__', None) or str(node.get('type'))
    path = _config_path(cfg, node)
    where = f'{path} ({label})' if path else label
    source = f'{cfg.filename}: ' if cfg.filename else ''
    return ConfigError(
        f'{source}{where}: {_detail(err, node, cls, registry)}')


@contextmanager
def explained(cfg: Config):
    """Re-raise errors of components built from ``cfg`` inside the block
    as :func:`explain_build_error` words them."""
    try:
        yield
    except Exception as err:  # noqa: B902  only re-worded, never swallowed
        better = explain_build_error(err, cfg)
        if better is None:
            raise
        raise better from err
