"""Shared fixtures: both async backends, and the real servers ``dev.py test`` starts."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# No per-example deadline (a shared 2-core machine makes timings noisy), and under CI a
# derandomized run, so CI checks exactly the examples a local `CI=true bash .ci/run` checked.
settings.register_profile(
    "sassi",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
)
settings.load_profile("sassi")


def pytest_report_header() -> str:
    import sassi

    build = "compiled (mypyc)" if sassi.compiled else "pure Python"
    return f"sassi: {build}, from {os.path.dirname(sassi.__file__)}"


def pytest_configure(config: pytest.Config) -> None:
    """``dev.py test`` sets ``SASSI_EXPECT_BUILD``: fail at once if another build got imported."""
    expected = os.environ.get("SASSI_EXPECT_BUILD")
    if not expected:
        return
    import sassi

    actual = "compiled" if sassi.compiled else "pure"
    if actual != expected:
        raise pytest.UsageError(
            f"expected the {expected} build of sassi, imported {actual} from {sassi.__file__}"
        )


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every ``@pytest.mark.anyio`` test runs on asyncio and on trio."""
    return str(request.param)


def _server_url(var: str, what: str) -> str:
    url = os.environ.get(var)
    if url:
        return url
    message = (
        f"{what} is not available ({var} is unset): install the servers with "
        "`apt-get install redis-server postgresql`; `python3 dev.py test` then starts them on "
        f"loopback (or set {var} to a running server)."
    )
    if os.environ.get("CI"):
        pytest.fail(message + " Under CI the server is required.")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real redis-server started by dev.py (fails under CI when missing)."""
    return _server_url("SASSI_REDIS_URL", "redis-server")


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the real PostgreSQL started by dev.py (fails under CI when missing)."""
    return _server_url("SASSI_PG_URL", "PostgreSQL")
