"""``pool.loader(batch_fetcher)``: batched loading, the DataLoader pattern (SPEC 11.7).

``await loader.load(id)`` answers from L1 when it can (a live value, a remembered "not found",
or a stale value under ``stale_while_revalidate``); every other id joins a flight: the one
already running for it (an ``aget_or_fetch``, another loader's batch) or this loader's open
batch, which collects ids until the event loop gets back to it and then makes **one**
``batch_fetcher(ids)`` call (:class:`~sassi._flight.Batcher`; no timers). The batch goes
through :meth:`~sassi._fetch.Fetching.load_batch`: one batched L2 read, the fetcher for what
L2 lacks, one batched L2 write-back, one L1 commit, no stale write-back — the same path as
``aget_or_fetch_many``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from .._effects import drive_async
from .._flight import Batcher
from ._fetching import Fetching

__all__ = ["Loader"]

T = TypeVar("T")


class _Pending(enum.Enum):
    """The type of :data:`_PENDING`."""

    PENDING = "pending"


_PENDING = _Pending.PENDING
"""An id that L1 could not answer: it waits for a flight."""


class Loader(Generic[T]):
    """Batched, single-flight loading of one pool's values (``pool.loader(...)``).

    Loads of ids that miss L1 (and L2) issued before the event loop gets back to the loader
    (the same tick: e.g. from tasks started together) are combined into one
    ``batch_fetcher(ids)`` call: ids deduplicated, at most ``max_batch`` per call (more make
    more calls). A load of an id whose fetch is already in flight — by ``aget_or_fetch``,
    this or another loader — joins it, and an ``aget_or_fetch`` joins a batch that holds its
    id. The batch's values are inserted in one commit ("insert if absent or expired, else
    keep the live value", as ``aget_or_fetch`` does) and written back to L2 in one batched
    write. An id the batch fetcher leaves out loads as ``None`` (remembered only under
    ``negative_ttl``). An exception from the batch fetcher reaches every caller of that batch
    (under ``stale_if_error``, callers of an id with a recently expired value get that value
    instead). Cancelling one caller never cancels a batch others wait for; when all of its
    callers are cancelled, it is cancelled. asyncio and trio.

    :param fetching: the pool's fetch feature.
    :param batch_fetcher: ``async (ids) -> iterable of values`` or a plain function (run in a
        worker thread).
    :param max_batch: the most ids in one ``batch_fetcher`` call.
    :raises TypeError: when ``batch_fetcher`` is not callable or ``max_batch`` not an ``int``.
    :raises ValueError: when ``max_batch < 1``.
    """

    __slots__ = ("_batcher", "_fetching", "batch_fetcher", "max_batch")

    def __init__(
        self,
        fetching: Fetching[T],
        batch_fetcher: Callable[[list[Any]], Any],
        max_batch: int = 1000,
    ) -> None:
        if not callable(batch_fetcher):
            raise TypeError(f"loader(batch_fetcher): not callable: {batch_fetcher!r}")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int):
            raise TypeError(f"max_batch must be an int, got {max_batch!r}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self._fetching = fetching
        self.batch_fetcher = batch_fetcher
        self.max_batch = max_batch
        self._batcher: Batcher[T | None] = Batcher(fetching.tasks, self._fetch, max_batch)

    def __repr__(self) -> str:
        return f"<Loader[{self._fetching.core.type_name}] max_batch={self.max_batch}>"

    async def load(self, id: Hashable) -> T | None:
        """The value for ``id``: from L1, else from a shared batch (or flight).

        :param id: the id.
        :returns: the value, or ``None`` when the batch fetcher did not return it.
        :raises IdentityMismatchError: when the batch returned an id it was not asked for.
        :raises Exception: what the batch fetcher raised.
        """
        early = self._early(id)
        if early is not _PENDING:
            return early
        return await self._batcher.load(id)

    async def load_many(self, ids: Iterable[Hashable]) -> list[T | None]:
        """The values for ``ids``, in input order (``None`` where none was found).

        :param ids: the ids (duplicates allowed: each position gets the id's value).
        :returns: one value or ``None`` per id.
        :raises IdentityMismatchError: when a batch returned an id it was not asked for.
        :raises Exception: what a batch fetcher raised for one of the ids.
        """
        keys = list(ids)
        out: list[Any] = [self._early(key) for key in keys]
        pending = [i for i, value in enumerate(out) if value is _PENDING]
        if pending:
            loaded = await self._batcher.load_many([keys[i] for i in pending])
            for i, value in zip(pending, loaded, strict=True):
                out[i] = value
        return out

    def _early(self, key: Hashable) -> T | _Pending | None:
        """What L1 answers for ``key`` without waiting, or ``_PENDING``."""
        fetching = self._fetching
        core = fetching.core
        value = core.get(key)
        if value is not None:
            return value
        policies = fetching.policies
        if core.negatives is not None and policies.negative(key):
            return None
        if not core.config.stale_while_revalidate:
            return _PENDING
        stale = policies.revalidatable(key)
        if stale is not None and (
            fetching.tasks.running(key)
            or fetching.revalidations.hand_off(key, lambda: self._batcher.load(key))
        ):
            return stale
        return _PENDING

    async def _fetch(self, keys: list[Hashable]) -> Mapping[Hashable, Any]:
        """One batch: ``Fetching.load_batch`` driven on this event loop."""
        return await drive_async(self._fetching.load_batch(keys, self.batch_fetcher))
