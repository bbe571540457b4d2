"""The L2 tier of a pool: write-through, read-through, failure policies, the listener.

A pool built with ``backend=`` owns one :class:`Tiering` (its operations, :mod:`._ops`) and one
:class:`Listener` (:mod:`._listener`); the failure policy is in :mod:`._policy`. Every
operation is a sans-I/O generator (:mod:`sassi._effects`) that the pool drives synchronously or
asynchronously, so each exists once.
"""

from ._fleet import NO_LEASE as NO_LEASE
from ._fleet import Fleet as Fleet
from ._listener import STARTUP_WAIT as STARTUP_WAIT
from ._listener import Listener as Listener
from ._listener import remove_all as remove_all
from ._listener import remove_where as remove_where
from ._ops import Tiering as Tiering
from ._policy import BackendIdentityMismatch as BackendIdentityMismatch
from ._policy import Policy as Policy
from ._policy import as_backend_error as as_backend_error
from ._policy import backoff_delay as backoff_delay

__all__ = [
    "NO_LEASE",
    "STARTUP_WAIT",
    "BackendIdentityMismatch",
    "Fleet",
    "Listener",
    "Policy",
    "Tiering",
    "as_backend_error",
    "backoff_delay",
    "remove_all",
    "remove_where",
]
