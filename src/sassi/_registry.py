"""The ``Sassi`` orchestrator: one pool per model, answering cross-type trait queries.

``Sassi`` holds one pool per model and answers "every cached value implementing ``Greeter``"
across all of them (:meth:`Sassi.all_impl`); the ``trait_impl`` registry it asks is
:mod:`sassi._traits`. It sits above the :class:`~sassi.Punnu` facade.
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar

from ._punnu import Punnu
from ._traits import _unalias, implements, require_impl

__all__ = ["Sassi"]

M = TypeVar("M")


def _pool_model(pool: object) -> type:
    if not isinstance(pool, Punnu):
        raise TypeError(f"Sassi.register expects a sassi.Punnu, got {pool!r}")
    return pool.model


class Sassi:
    """A process-level set of pools, one per model, answering cross-type trait queries.

    Thread-safe: registration and lookups run under one lock; :meth:`all_impl` takes a
    snapshot of the registered pools and then reads each pool through its own (thread-safe)
    scope, so a slow query never blocks registration.

    ::

        registry = sassi.Sassi()
        registry.register(users)
        registry.pool(User) is users
        registry.all_impl(Greeter)   # live values of every registered pool implementing Greeter
    """

    __slots__ = ("_lock", "_pools")

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._pools: dict[type, Punnu[Any]] = {}

    def register(self, pool: Punnu[Any]) -> None:
        """Add ``pool`` under its model; a pool already registered for that model is replaced.

        :param pool: a :class:`sassi.Punnu`.
        :raises TypeError: when ``pool`` is not a pool.
        """
        model = _pool_model(pool)
        with self._lock:
            self._pools.pop(model, None)  # re-registration moves the model to the end
            self._pools[model] = pool

    def unregister(self, model: type) -> bool:
        """Forget the pool registered for ``model``.

        :param model: a model class.
        :returns: whether a pool was registered for it.
        """
        with self._lock:
            return self._pools.pop(model, None) is not None

    def pool(self, model: type[M]) -> Punnu[M] | None:
        """The pool registered for ``model`` (the same object), or ``None`` when there is none.

        :param model: a model class.
        :returns: the registered ``Punnu`` or ``None``.
        """
        with self._lock:
            return self._pools.get(model)

    def pools(self) -> list[Punnu[Any]]:
        """Every registered pool, in registration order.

        :returns: a new list.
        """
        with self._lock:
            return list(self._pools.values())

    def all_impl(self, proto: type) -> list[Any]:
        """Every live value, across the registered pools, whose model implements ``proto``.

        A model implements ``proto`` when it is registered with ``@trait_impl`` for it or
        subclasses it nominally (see :func:`implements`). Pools of other models are skipped.
        Values come pool by pool in registration order, each pool's values sorted by id; expired
        entries are left out; no pool's recency, events or contents change.

        :param proto: a protocol or abstract base class.
        :returns: a new list of values.
        :raises TypeError: when ``proto`` is not a class.
        """
        proto = _unalias(proto)
        if not isinstance(proto, type):
            raise TypeError(f"all_impl expects a protocol class, got {proto!r}")
        with self._lock:
            pools = [(m, p) for m, p in self._pools.items() if implements(m, proto)]
        values: list[Any] = []
        for _model, pool in pools:
            values.extend(pool.scope().sort().collect())
        return values

    def require_impl(self, model: type, proto: type) -> None:
        """Same as the module-level :func:`require_impl`.

        :raises TypeError: when ``model`` does not implement ``proto``.
        """
        require_impl(model, proto)

    def __len__(self) -> int:
        with self._lock:
            return len(self._pools)

    def __contains__(self, model: object) -> bool:
        with self._lock:
            return model in self._pools

    def __repr__(self) -> str:
        with self._lock:
            names = ", ".join(m.__qualname__ for m in self._pools)
        return f"Sassi([{names}])"
