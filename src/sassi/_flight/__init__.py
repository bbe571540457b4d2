"""Single-flight: concurrent callers for one key share one execution of a fetch.

Two engines with the same contract, one for anyio tasks (asyncio and trio) and one for threads:

* the first caller for a cold key starts the fetch; every caller that arrives while it runs
  waits for that same execution instead of starting another;
* the outcome reaches every waiter: the same value object, or the same exception object
  (never cached: once a flight ends its slot is cleared and the next call starts cold);
* :class:`TaskFlights` only: a cancelled waiter leaves without disturbing the fetch while
  others still wait; when the **last** waiter leaves, the fetch is cancelled and its slot
  cleared at once, so the next call starts cold;
* re-entering a flight for the same key from inside its own fetch would wait on itself
  forever, so it raises :class:`RuntimeError` instead.

How :class:`TaskFlights` runs a fetch without a long-lived task group: the first waiter (the
*host*) opens a task group in its own task and starts the fetch as a child, inside a shielded
:class:`anyio.CancelScope` owned by the flight. The host then waits like everyone else. Scopes
are per task, so cancelling the host reaches only its wait: the host leaves the flight (the
waiter count drops) but, structured concurrency being what it is, its task stays inside the
task group until the shielded fetch ends. The fetch is cancelled only through the flight's own
scope, which the last departing waiter cancels. A cancelled host therefore returns its
``Cancelled`` once the fetch has finished for the remaining waiters, or as soon as they have
all left too.

Batches (:class:`Batcher`, the DataLoader pattern): one flight may serve several keys. The keys
a :class:`Batcher` collects before the event loop gets back to it are registered, each under its
own key, in the same :class:`TaskFlights` registry — so ``run(key)`` joins a batch that holds
``key`` and a batch load joins a ``run`` in flight — and fetched by one call. Waiters are counted
per batch: cancelling one leaves the batch running for the others; when the last leaves, it is
cancelled.

Both engines count flights started and coalesced waiters (:class:`FlightStats`).
"""

from ._batch import Batcher as Batcher
from ._engines import Failed as Failed
from ._engines import FlightStats as FlightStats
from ._engines import TaskFlights as TaskFlights
from ._engines import ThreadFlights as ThreadFlights

__all__ = ["Batcher", "Failed", "FlightStats", "TaskFlights", "ThreadFlights"]
