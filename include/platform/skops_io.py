"""``skops.io``, imported without a flood of Airflow deprecation warnings in task logs.

Importing ``skops.io`` builds its list of trusted scipy ufuncs (``SCIPY_UFUNC_TYPE_NAMES``) by
looking every ufunc up in every module of ``sys.modules`` (``skops.io._utils.whichmodule``: a
``getattr(module, name, None)`` per module). In an Airflow task process ``sys.modules`` holds
Airflow 3's redirect modules (``airflow.utils.timezone``, ``airflow.utils.trigger_rule``, ...),
whose ``__getattr__`` warns ``DeprecatedImportWarning`` for *any* name before failing: about
1,160 warnings (232 ufuncs x 5 modules), one log line each, on every task that loads or saves
a model. Nothing here imports a deprecated name; it is skops probing.

The walk is inside skops' own module initialisation, so it cannot be narrowed or avoided from
outside (a task always imports Airflow first). The import is therefore done under a filter that
matches exactly those warnings: category FutureWarning (``DeprecatedImportWarning``'s base;
naming the class would import Airflow into this Airflow-free module), raised from
``skops.io._utils``, with a message about an ``airflow.`` attribute, for the duration of that one
import. Warnings raised anywhere else, or later, are untouched. Once imported, skops' loading
and saving do not walk ``sys.modules`` for the model types this project stores.
"""

from __future__ import annotations

import sys
import warnings
from types import ModuleType

# The message Airflow's redirect modules give (airflow/utils/deprecation_tools.py).
AIRFLOW_REDIRECT_MESSAGE = r"The `airflow\."
SKOPS_WALKER = r"skops\.io\._utils"


def skops_io() -> ModuleType:
    """The ``skops.io`` module (imported once per process, quietly: see the module docstring)."""
    module = sys.modules.get("skops.io")
    if module is not None:
        return module
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=AIRFLOW_REDIRECT_MESSAGE, category=FutureWarning, module=SKOPS_WALKER)
        import skops.io

    return skops.io
