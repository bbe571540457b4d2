"""Which column feeds which model field: a :class:`sassi.sql.Source`'s rows, resolved once.

:func:`resolve` validates a ``Source``'s arguments against the table (or mapped class) and the
model, and returns a :class:`Shape`: one ``SELECT`` whose first columns are the model's fields in
field order (labelled with the field names) and how to turn its rows into models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from .._model import ModelInfo, model_info
from .._wire._codec import _builder

__all__ = ["Shape", "resolve"]

_WATERMARK = "__sassi_watermark__"  # labels of the extra columns a delta query reads
_DELETED = "__sassi_deleted__"


@dataclass(frozen=True, slots=True)
class Shape:
    """A ``Source``'s rows: what to select, from where, and how to build a model from a row.

    :param info: the model's :class:`~sassi._model.ModelInfo`.
    :param fields: field name -> the column (or mapped expression) that feeds it, field order.
    :param from_: the FROM clause (the table; a mapped class's selectable).
    :param id: the id column.
    :param watermark: the watermark column, if any.
    :param deleted: "this row is deleted" (``col IS true`` or ``col IS NOT NULL``), if any.
    :param build: field values in field order -> a model value.
    :param id_index: where the id field sits among the fields.
    """

    info: ModelInfo
    fields: dict[str, ColumnElement[Any]]
    from_: sa.FromClause
    id: ColumnElement[Any]
    watermark: ColumnElement[Any] | None
    deleted: ColumnElement[bool] | None
    build: Callable[[Sequence[Any]], Any]
    id_index: int

    def select(self, *, delta: bool = False) -> sa.Select[Any]:
        """``SELECT`` the fields (and, for a delta, the watermark and deleted flag)."""
        columns: list[ColumnElement[Any]] = [c.label(f) for f, c in self.fields.items()]
        if delta:
            assert self.watermark is not None
            columns.append(self.watermark.label(_WATERMARK))
            columns.append(
                (self.deleted if self.deleted is not None else sa.false()).label(_DELETED)
            )
        return sa.select(*columns).select_from(self.from_)

    def live(self) -> ColumnElement[bool]:
        """The rows that are not deleted."""
        return sa.true() if self.deleted is None else sa.not_(self.deleted)

    def model(self, row: Sequence[Any]) -> Any:
        """The model value of a row of :meth:`select`."""
        return self.build(row[: len(self.fields)])

    def watermark_of(self, row: Sequence[Any]) -> Any:
        """The watermark of a row of ``select(delta=True)``."""
        return row[len(self.fields)]

    def is_deleted(self, row: Sequence[Any]) -> bool:
        """Whether a row of ``select(delta=True)`` is deleted."""
        return bool(row[len(self.fields) + 1])

    def id_of(self, row: Sequence[Any]) -> Any:
        """The id of a row of :meth:`select`."""
        return row[self.id_index]


def _columns_of(target: Any) -> tuple[dict[str, ColumnElement[Any]], sa.FromClause]:
    """``(column name -> column, FROM clause)`` of a table or a mapped class."""
    if isinstance(target, sa.FromClause):
        return {c.key: c for c in target.c}, target
    insp = sa.inspect(target, raiseerr=False)
    mapper = getattr(insp, "mapper", None)
    if mapper is None or not isinstance(target, type):
        raise TypeError(
            f"sassi.sql.Source needs a SQLAlchemy Table or a mapped class, not {target!r}"
        )
    if mapper.single and mapper.inherits is not None:
        raise ValueError(
            f"{target.__qualname__} uses single-table inheritance, which a Source cannot filter "
            "by its discriminator: pass the table and a model for it instead"
        )
    # Mapped columns (and column_property() expressions) under their attribute names.
    return dict(mapper.columns.items()), mapper.selectable


def _listing(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _column(name: object, what: str, known: Mapping[str, object], where: str) -> str:
    if not isinstance(name, str) or name not in known:
        raise ValueError(
            f"{what}={name!r} is not a column of {where} (known: {_listing(list(known))})"
        )
    return name


def resolve(
    target: Any,
    model: type,
    *,
    id_column: str,
    watermark_column: str | None,
    deleted_column: str | None,
    columns: Mapping[str, str] | None,
) -> Shape:
    """Check a ``Source``'s arguments and work out its :class:`Shape`.

    Each model field reads the column ``columns`` maps to it, else the column of its own name;
    ``id_column`` (and ``watermark_column``) feed the model's id (and watermark) field when that
    field has no column of either kind.

    :raises TypeError: when ``target`` is neither a table nor a mapped class, or ``model`` is
        not a model.
    :raises ValueError: naming them, for unknown columns or fields, a field fed by two columns,
        fields no column feeds, and an ``id_column`` that does not feed the id field.
    """
    info = model_info(model)
    available, from_ = _columns_of(target)
    if isinstance(target, sa.FromClause):
        where = f"table {target.description!r}"
    else:
        where = f"mapped class {target.__qualname__}"
    names = info.field_names
    if columns is not None and not isinstance(columns, Mapping):
        raise TypeError(f"columns= needs a mapping of column name -> field name, got {columns!r}")
    mapping = dict(columns or {})
    unknown = [c for c in mapping if c not in available]
    if unknown:
        raise ValueError(
            f"columns= names {_listing(unknown)}, not columns of {where} "
            f"(known: {_listing(list(available))})"
        )
    strangers = [f for f in mapping.values() if f not in names]
    if strangers:
        raise ValueError(
            f"columns= maps to {_listing(strangers)}, not fields of {model.__qualname__} "
            f"(fields: {_listing(names)})"
        )
    id_name = _column(id_column, "id_column", available, where)
    wm_name = None
    if watermark_column is not None:
        wm_name = _column(watermark_column, "watermark_column", available, where)
    deleted_name = None
    if deleted_column is not None:
        deleted_name = _column(deleted_column, "deleted_column", available, where)

    def fed(field: str) -> bool:
        return field in mapping.values() or (field in available and field not in mapping)

    if not fed(info.id_field) and id_name not in mapping:
        mapping[id_name] = info.id_field
    if info.watermark is not None and wm_name is not None and not fed(info.watermark):
        mapping.setdefault(wm_name, info.watermark)
    feeds: dict[str, list[str]] = {}
    for column, field in mapping.items():
        feeds.setdefault(field, []).append(column)
    for field in names:
        if field not in feeds and field in available and field not in mapping:
            feeds[field] = [field]
    twice = {f: cs for f, cs in feeds.items() if len(cs) > 1}
    if twice:
        raise ValueError(
            "columns= feeds a field from more than one column: "
            + "; ".join(f"{f!r} <- {_listing(cs)}" for f, cs in twice.items())
        )
    missing = [f for f in names if f not in feeds]
    if missing:
        raise ValueError(
            f"fields {_listing(missing)} of {model.__qualname__} have no column in {where} "
            f"(columns: {_listing(list(available))}); map them with columns={{column: field}}"
        )
    if feeds[info.id_field] != [id_name]:
        raise ValueError(
            f"id_column={id_column!r} does not feed {model.__qualname__}'s id field "
            f"{info.id_field!r} (column {feeds[info.id_field][0]!r} does): pass "
            f"id_column={feeds[info.id_field][0]!r}"
        )
    if wm_name is None and info.watermark is not None:
        wm_name = feeds[info.watermark][0]  # the model's watermark, by default
    fields = {f: available[feeds[f][0]] for f in names}
    deleted: ColumnElement[bool] | None = None
    if deleted_name is not None:
        col = available[deleted_name]
        deleted = col.is_(sa.true()) if isinstance(col.type, sa.Boolean) else col.is_not(None)
    return Shape(
        info=info,
        fields=fields,
        from_=from_,
        id=available[id_name],
        watermark=None if wm_name is None else available[wm_name],
        deleted=deleted,
        build=_builder(model, list(names)),
        id_index=names.index(info.id_field),
    )
