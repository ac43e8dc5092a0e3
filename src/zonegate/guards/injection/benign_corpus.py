"""Benign reference text that every Python installation carries: standard-library docstrings.

The S-Labs data's benign class is short questions and statements; a model trained on it alone
learns "anything else is an injection" and flags about half of ordinary documentation. The
training script adds docstring paragraphs of ``TRAIN_MODULES`` as extra benign examples and
builds the long documents that tune the sliding window from ``TUNE_MODULES``; the benchmark
measures false alarms on ``EVAL_MODULES``. The three lists are disjoint. Docstrings are read with
``ast`` (no module is imported); the order is fixed, so the corpus is a pure function of the
Python version's source files, and the training script records its SHA-256.
"""

from __future__ import annotations

import ast
import hashlib
import sysconfig
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

_ALL: Final = [
    "_pydecimal",
    "argparse",
    "ast",
    "asyncio/base_events",
    "bisect",
    "calendar",
    "cmd",
    "code",
    "codecs",
    "codeop",
    "collections/__init__",
    "concurrent/futures/_base",
    "configparser",
    "contextlib",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "difflib",
    "dis",
    "doctest",
    "email/message",
    "enum",
    "fileinput",
    "fnmatch",
    "fractions",
    "ftplib",
    "functools",
    "getopt",
    "gettext",
    "glob",
    "gzip",
    "heapq",
    "hmac",
    "html/parser",
    "http/client",
    "http/server",
    "imaplib",
    "importlib/metadata/__init__",
    "inspect",
    "io",
    "ipaddress",
    "json/__init__",
    "json/decoder",
    "locale",
    "logging/__init__",
    "mailbox",
    "mimetypes",
    "multiprocessing/pool",
    "netrc",
    "numbers",
    "operator",
    "optparse",
    "os",
    "pathlib",
    "pdb",
    "pickle",
    "platform",
    "pprint",
    "queue",
    "random",
    "sched",
    "secrets",
    "selectors",
    "shlex",
    "shutil",
    "signal",
    "smtplib",
    "socket",
    "sqlite3/__init__",
    "statistics",
    "string",
    "subprocess",
    "sysconfig",
    "tarfile",
    "tempfile",
    "textwrap",
    "threading",
    "timeit",
    "tokenize",
    "trace",
    "traceback",
    "tracemalloc",
    "typing",
    "unittest/case",
    "urllib/parse",
    "urllib/request",
    "uuid",
    "warnings",
    "wave",
    "weakref",
    "webbrowser",
    "xml/dom/minidom",
    "zipapp",
    "zipfile",
]
TRAIN_MODULES: Final = tuple(_ALL[0::2])
TUNE_MODULES: Final = tuple(_ALL[1::4])
EVAL_MODULES: Final = tuple(_ALL[3::4])
MIN_CHARS: Final = 40
MAX_CHARS: Final = 2000


def _source(root: Path, module: str) -> Path:
    for candidate in (root / f"{module}.py", root / module / "__init__.py"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"standard-library module {module!r} not found under {root}")


def _docstrings(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield doc


def paragraphs(modules: Iterable[str], stdlib: Path | None = None) -> list[str]:
    """Docstring paragraphs of ``modules``, whitespace collapsed, deduplicated, in file order."""
    root = stdlib or Path(sysconfig.get_paths()["stdlib"])
    seen: dict[str, None] = {}
    for module in modules:
        tree = ast.parse(_source(root, module).read_text(encoding="utf-8"))
        for doc in _docstrings(tree):
            for block in doc.split("\n\n"):
                text = " ".join(block.split())
                if MIN_CHARS <= len(text) <= MAX_CHARS:
                    seen.setdefault(text, None)
    return list(seen)


def digest(texts: Iterable[str]) -> str:
    """SHA-256 of the texts joined by newlines: identifies the exact corpus used."""
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
