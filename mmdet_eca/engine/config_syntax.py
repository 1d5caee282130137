"""Name the file and line of a syntax error in a config.

MMEngine 0.10 parses a config file with ``ast.parse`` (to see whether it
uses lazy imports) before reading it, and lets the error out without the
file's name: ``SyntaxError: '(' was never closed (<unknown>, line 17)``,
whether the error is in the file given or in one of its ``_base_`` files.
:func:`syntax_problem` parses the config and its local ``_base_`` files
again, only after loading failed, and says which file and line.
"""
import ast
import os.path as osp
from typing import List, Optional


def _base_files(tree: ast.Module, path: str) -> List[str]:
    """The local files a config's ``_base_`` names, resolved as MMEngine
    resolves them (relative to the config's folder)."""
    bases: List[str] = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets)):
            continue
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            continue  # not a literal: MMEngine will say what it thinks
        for base in [value] if isinstance(value, str) else list(value):
            # package configs (mmdet::...) come from an installed package,
            # and {{fileDirname}}-style names are filled in by MMEngine
            if isinstance(base, str) and '::' not in base and \
                    '{{' not in base:
                bases.append(osp.join(osp.dirname(path), base))
    return bases


def syntax_problem(path: str, _seen: Optional[set] = None) -> Optional[str]:
    """The first syntax error in config ``path`` or its ``_base_`` files.

    Args:
        path (str): A Python config file.

    Returns:
        str | None: e.g. ``"cfg.py, line 17: invalid Python syntax ('('
        was never closed); fix the config file"``, followed by ``(a _base_
        of <file>)`` when the error is in an inherited file; None when
        every file parses (or cannot be read: loading says why).
    """
    seen = set() if _seen is None else _seen
    if path in seen or not path.endswith('.py') or not osp.isfile(path):
        return None
    seen.add(path)
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as err:
        column = f' column {err.offset}' if err.offset else ''
        return (f'{path}, line {err.lineno}{column}: invalid Python syntax '
                f'({err.msg}); fix the config file')
    for base in _base_files(tree, path):
        problem = syntax_problem(base, seen)
        if problem:
            return f'{problem} (a _base_ of {path})'
    return None
