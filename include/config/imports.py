"""What a config may name as code: import paths and the types skops may load.

A model config is data. The only code it may reach is:

* ``estimator.class_path``: under an allowed module prefix. The defaults are scikit-learn
  (``sklearn.``) and the project's reviewed model code (``include.extensions.``); the operator
  adds prefixes in ONE place, the environment variable ``MLOPS_ALLOWED_IMPORT_PREFIXES``
  (comma-separated, e.g. ``xgboost.,lightgbm.``), set alike on the DAG processor and the workers.
  The prefix is checked when the config is read (no import); training checks, when it imports
  the path, that it is an estimator class (``fit`` and ``predict``) or a factory of
  ``include.extensions`` / an added prefix whose result has both (``include.ml.training``).
* ``skops_trusted_types``: never a type of a module that runs commands, evaluates code or
  loads pickles (``DENIED_TYPE_PREFIXES``): skops would call it while loading the model.
"""

from __future__ import annotations

import os
import re
from typing import Any

from include.config.checks import fail

DEFAULT_IMPORT_PREFIXES = ("sklearn.", "include.extensions.")
IMPORT_PREFIXES_ENV = "MLOPS_ALLOWED_IMPORT_PREFIXES"
DOTTED_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
# Modules whose types must never be trusted: the type would run when skops loads the model.
DENIED_TYPE_PREFIXES = (
    "builtins",
    "__builtin__",
    "os",
    "posix",
    "nt",
    "subprocess",
    "sys",
    "importlib",
    "shutil",
    "pickle",
    "_pickle",
    "cPickle",
    "dill",
    "cloudpickle",
    "joblib",
    "marshal",
    "ctypes",
    "socket",
    "runpy",
    "code",
    "codeop",
    "pty",
    "io",
    "pathlib",
    "tempfile",
    "multiprocessing",
    "threading",
    "signal",
    "types",
    "functools",
    "operator",
    "inspect",
    "gc",
    "webbrowser",
    "urllib",
    "http",
    "requests",
    "asyncio",
)


def allowed_import_prefixes() -> tuple[str, ...]:
    """The defaults plus the comma-separated prefixes of ``MLOPS_ALLOWED_IMPORT_PREFIXES``; each
    prefix ends with a dot (``xgboost`` is read as ``xgboost.``)."""
    extra = [p.strip() for p in os.environ.get(IMPORT_PREFIXES_ENV, "").split(",") if p.strip()]
    return (*DEFAULT_IMPORT_PREFIXES, *(p if p.endswith(".") else f"{p}." for p in extra))


def check_import_path(where: str, path: Any) -> str:
    """A dotted path under an allowed prefix; nothing is imported."""
    if not isinstance(path, str) or not DOTTED_RE.match(path):
        fail(where, f"must be a dotted import path, got {path!r}")
    prefixes = allowed_import_prefixes()
    if not path.startswith(prefixes):
        fail(
            where,
            f"{path!r} is not under an allowed module prefix {list(prefixes)}; a reviewed module may be "
            f"added to the environment variable {IMPORT_PREFIXES_ENV} (see docs/extending.md)",
        )
    return path


def check_trusted_type(where: str, name: Any) -> str:
    """A dotted type name outside the modules of ``DENIED_TYPE_PREFIXES``."""
    if not isinstance(name, str) or not DOTTED_RE.match(name):
        fail(where, f"entries are dotted type names, got {name!r}")
    for prefix in DENIED_TYPE_PREFIXES:
        if name == prefix or name.startswith(f"{prefix}."):
            fail(where, f"{name!r} must not be trusted: loading it could run code (module {prefix!r})")
    return name
