"""PostgreSQL ``LISTEN``/``NOTIFY``: the trigger that notifies, and the listener that wakes a pool.

:func:`notify_trigger_ddl` writes the DDL of a statement-level trigger that runs
``pg_notify(channel, <table name>)`` after every ``INSERT``, ``UPDATE``, ``DELETE`` and
``TRUNCATE`` (PostgreSQL delivers it when the transaction commits, and folds identical
notifications of one transaction into one).

A :class:`Listener` is an async iterable (the ``wake=`` of ``pool.delta_refresh``). Each
iteration connects with psycopg 3 (autocommit), ``LISTEN``s, yields ``None`` once listening and
then each notification's payload. psycopg's ``AsyncConnection`` runs on asyncio only, so the
listener does what it does with anyio instead: it waits until the connection's socket is
readable (``anyio.wait_readable``, asyncio and trio), then lets libpq read the input and hand
over the notifications, never blocking the event loop. Connecting runs in a worker thread. A
broken connection ends the iteration with ``psycopg.OperationalError``; ``delta_refresh`` then
iterates again after a short backoff and refreshes in full (see :mod:`sassi._refresh`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

if TYPE_CHECKING:
    import psycopg

__all__ = ["Listener", "conninfo_of", "notify_trigger_ddl"]

# libpq options the listener sets unless the connection string does: a name that shows in
# pg_stat_activity, a bounded connect, and keepalives so a silently dead peer is noticed.
_DEFAULTS = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}
_PREPARER = postgresql.dialect().identifier_preparer  # type: ignore[no-untyped-call]


def _checked_channel(channel: object) -> str:
    if not isinstance(channel, str):
        raise TypeError(f"a NOTIFY channel is a str, not {channel!r}")
    if not channel or len(channel.encode()) > 63 or "\x00" in channel:
        raise ValueError(f"a NOTIFY channel is 1 to 63 bytes of UTF-8 without NUL, not {channel!r}")
    return channel


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def notify_trigger_ddl(table: Any, channel: str) -> str:
    """The DDL of a trigger that sends ``NOTIFY channel`` on every change to ``table``.

    Two statements, idempotent (``CREATE OR REPLACE``, PostgreSQL 14 or later): the function
    ``sassi_notify()`` (in the table's schema) and the trigger ``sassi_notify_<channel>``,
    ``AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ... FOR EACH STATEMENT``, whose notification
    payload is the table's name. Run it once, e.g. ``conn.exec_driver_sql(ddl)``.

    :param table: a ``Table``, a mapped class, or a table name (one identifier, quoted as
        SQLAlchemy quotes a ``Table`` of that name).
    :param channel: the channel to notify (1 to 63 bytes).
    :returns: the DDL.
    :raises TypeError: when ``table`` is none of those.
    :raises ValueError: when the channel is empty or longer than 63 bytes.
    """
    channel = _checked_channel(channel)
    if isinstance(table, str):
        name, schema = _PREPARER.quote(table), None
    else:
        if not isinstance(table, sa.Table):
            mapped = getattr(sa.inspect(table, raiseerr=False), "local_table", None)
            if not isinstance(mapped, sa.Table):
                raise TypeError(
                    f"notify_trigger_ddl() needs a Table, a mapped class or a table name, not "
                    f"{table!r}"
                )
            table = mapped
        name, schema = _PREPARER.format_table(table), table.schema
    function = "sassi_notify"
    if schema is not None:
        function = f"{_PREPARER.quote_schema(schema)}.{function}"
    trigger = f"sassi_notify_{channel}"
    if len(trigger.encode()) > 63:  # PostgreSQL would truncate it: keep names distinct
        digest = hashlib.sha256(channel.encode()).hexdigest()[:12]
        trigger = f"sassi_notify_{digest}"
    return (
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $sassi$\n"
        "BEGIN\n"
        "  PERFORM pg_notify(TG_ARGV[0], TG_TABLE_NAME);\n"
        "  RETURN NULL;\n"
        "END\n"
        "$sassi$;\n"
        f"CREATE OR REPLACE TRIGGER {_PREPARER.quote_identifier(trigger)}\n"
        f"  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name}\n"
        f"  FOR EACH STATEMENT EXECUTE FUNCTION {function}({_literal(channel)});\n"
    )


def conninfo_of(url: sa.URL, dialect: str) -> str:
    """A libpq URL for a PostgreSQL engine's URL (whatever its driver).

    :raises ValueError: when the engine is not PostgreSQL.
    """
    if dialect != "postgresql":
        raise ValueError(
            f"listen() needs PostgreSQL (LISTEN/NOTIFY); this Source's engine is {dialect!r}"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise ImportError("listen() needs psycopg 3: pip install 'sassi[postgres]'") from exc
    return psycopg


class _Opening:
    """A connection being opened in a worker thread, closed if its caller has gone."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.abandoned = False
        self.conn: psycopg.Connection[Any] | None = None

    def open(self, conninfo: str, channel: str) -> None:
        psycopg = _psycopg()
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
        extra = {k: v for k, v in _DEFAULTS.items() if k not in params}
        if "application_name" not in params:
            extra["application_name"] = f"sassi listen {channel}"[:63]
        conn = psycopg.connect(conninfo, autocommit=True, **extra)
        try:
            conn.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(channel)))
        except BaseException:
            conn.close()
            raise
        with self.lock:
            if self.abandoned:
                conn.close()
            else:
                self.conn = conn

    def abandon(self) -> None:
        with self.lock:
            self.abandoned = True
            if self.conn is not None:
                self.conn.close()


class Listener:
    """``async for payload in listener``: ``LISTEN channel`` on PostgreSQL (psycopg 3).

    Each iteration has its own connection: it yields ``None`` once listening (a change
    committed before that was not announced), then the payload (``str``) of each notification,
    and raises ``psycopg.OperationalError`` when the connection breaks. As
    ``wake=`` of :meth:`sassi.Punnu.delta_refresh`, each item runs an update, and a broken
    connection is opened again (capped backoff) and followed by a full update.
    """

    def __init__(self, conninfo: str, channel: str) -> None:
        _psycopg()  # fail now, not in the background, when psycopg is missing
        self._conninfo = conninfo
        self.channel = _checked_channel(channel)

    def __repr__(self) -> str:
        return f"<sassi.sql.Listener channel={self.channel!r}>"  # no password in logs

    def __aiter__(self) -> AsyncIterator[str | None]:
        return self._listen()

    async def _listen(self) -> AsyncIterator[str | None]:
        psycopg = _psycopg()
        opening = _Opening()
        try:
            await anyio.to_thread.run_sync(
                opening.open, self._conninfo, self.channel, abandon_on_cancel=True
            )
        except BaseException:
            opening.abandon()
            raise
        conn = opening.conn
        assert conn is not None
        try:
            yield None
            pgconn, encoding, fd = conn.pgconn, conn.info.encoding, conn.fileno()
            while True:
                # libpq may hold notifications it read along with an earlier reply: drain first
                while (notify := pgconn.notifies()) is not None:
                    yield notify.extra.decode(encoding)
                await anyio.wait_readable(fd)
                pgconn.consume_input()  # never blocks; raises OperationalError once broken
                if pgconn.status != psycopg.pq.ConnStatus.OK:
                    raise psycopg.OperationalError("the LISTEN connection was lost")
        finally:
            conn.close()
