"""Fixtures shared by unit-test modules."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def one_thread():
    """BLAS/OpenMP pools capped at one thread for the module (use with ``usefixtures``).

    Thread pools only slow small fits down on a busy 2-core machine; results do not change.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield
