"""``Fields`` / ``Field`` / ``PresentField``: the builders that turn ``F.age >= 18`` into nodes.

Every comparison dunder and method funnels into one choke point, ``_compare(op, operand)``,
which checks the operand against the field's annotation and returns a
:class:`~sassi.predicate.FieldPredicate`. Annotations are validation hints only: an operand
that cannot compare with the annotated type raises :class:`TypeError` here, at construction,
never later during evaluation. Unannotated (``Any``) fields accept anything.

Operand rules per annotation: ``int``/``float``/``Decimal``/``Fraction`` fields take any real
number but never a ``bool``; ``bool`` fields take only ``bool``; ``str`` fields only ``str``;
``date`` fields refuse ``datetime`` operands (Python raises comparing the two); enums and
other classes use ``isinstance``; unions and ``Optional`` accept what any member accepts;
``Literal`` fields accept their literal values; ``Any``, ``TypeVar`` and unresolvable
annotations accept anything. ``None`` is accepted only where the annotation admits ``None``.
Ordering (``< <= > >= between``) is refused on ``dict``/``list``/``set``/``complex``
annotations; ``bool`` is ordered (``False < True``) as in Python and Rust.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ._annotations import accepts_by_type, admits_json, annotation_accepts, describe_annotation
from ._compare import Comparisons, operand_error
from ._nodes import FieldPredicate
from ._ops import OPS, LookupOp, OpKind

if typing.TYPE_CHECKING:
    from ._json import JsonPath

__all__ = ["Field", "Fields", "PresentField", "annotation_accepts", "describe_annotation"]


class _Builder(Comparisons):
    """Shared choke point of :class:`Field` and :class:`PresentField`."""

    __slots__ = ("annotation", "name", "owner")

    name: str
    annotation: Any
    owner: str

    _present: typing.ClassVar[bool] = False

    def _where(self) -> str:
        prefix = f"{self.owner}." if self.owner else ""
        present = ".present()" if self._present else ""
        return f"{prefix}{self.name}{present} (annotated {describe_annotation(self.annotation)})"

    def _describe(self) -> str:
        return self._where()

    def _check(self, op: LookupOp, value: Any) -> None:
        error = operand_error(self, value)
        if error is not None:
            raise error
        if value is None and self._present:
            raise TypeError(
                f"{self._where()}: present() comparisons take a value, not None; "
                "use is_null()/is_not_null() on the field instead"
            )
        if not annotation_accepts(self.annotation, value, ordering=OPS[op].ordering):
            what = "order against" if OPS[op].ordering else "compare with"
            raise TypeError(
                f"{self._where()}: cannot {what} operand {value!r} "
                f"({type(value).__name__}) for {op.name}"
            )

    def _compare(self, op: LookupOp, operand: Any) -> FieldPredicate:
        """Validate ``operand`` for ``op`` and build the leaf (the single choke point).

        :param op: the lookup operator.
        :param operand: a scalar, ``(lo, hi)`` for BETWEEN, an iterable for IN/NOT_IN, the
            needle for string lookups, ``None`` for IS_NULL/IS_NOT_NULL.
        :returns: the new leaf predicate.
        :raises TypeError: when the operand does not fit the field's annotation.
        """
        kind = OPS[op].kind
        value: object
        if kind is OpKind.MEMBERSHIP:
            if isinstance(operand, (str, bytes)) or not isinstance(operand, Iterable):
                raise TypeError(
                    f"{self._where()}: {OPS[op].symbol}() takes an iterable of values "
                    f"(a list or tuple), not {operand!r}"
                )
            value = tuple(operand)
            checked: set[type] = set()  # a 100k-value in_() validates each plain type once
            for item in value:
                if type(item) in checked:
                    continue
                self._check(op, item)
                if accepts_by_type(self.annotation, item):
                    checked.add(type(item))
        elif kind is OpKind.RANGE:
            low, high = operand
            self._check(op, low)
            self._check(op, high)
            value = (low, high)
        elif kind is OpKind.STRING:
            error = operand_error(self, operand)
            if error is not None:
                raise error
            if not isinstance(operand, str):
                raise TypeError(
                    f"{self._where()}: {OPS[op].symbol}() needs a str needle, "
                    f"not {operand!r} ({type(operand).__name__})"
                )
            if not annotation_accepts(self.annotation, operand, needle=True):
                raise TypeError(f"{self._where()}: {OPS[op].symbol}() applies to str fields only")
            value = operand
        elif kind is OpKind.NULLNESS:
            value = None
        else:
            self._check(op, operand)
            value = operand
        return FieldPredicate(self.name, op, value, self._present)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._where()}>"


class Field(_Builder):
    """One model attribute, as a predicate builder: ``F.age >= 18``, ``F.name.startswith("a")``.

    ``==`` returns a predicate, yet ``Field`` keeps a normal identity hash so it can be used
    as a dict key or sort key: ``==``/``!=`` between two ``Field`` objects is identity and
    returns a ``bool``. Every other comparison with a field or a predicate raises
    :class:`TypeError` naming both.

    :param name: the attribute name.
    :param annotation: the resolved annotation (``Any`` when unknown).
    :param owner: the model's qualified name, for error messages.
    """

    __slots__ = ()

    _identity_eq = True

    def __init__(self, name: str, annotation: Any = Any, owner: str = "") -> None:
        self.name = name
        self.annotation = annotation
        self.owner = owner

    def get(self, obj: Any) -> Any:
        """The value of this field on ``obj``.

        :param obj: a model instance.
        :returns: ``getattr(obj, name)``.
        :raises AttributeError: when ``obj`` has no such attribute.
        """
        return getattr(obj, self.name)

    def is_null(self) -> FieldPredicate:
        """The value is ``None``."""
        return self._compare(LookupOp.IS_NULL, None)

    def is_not_null(self) -> FieldPredicate:
        """The value is not ``None``."""
        return self._compare(LookupOp.IS_NOT_NULL, None)

    def contains(self, needle: str) -> FieldPredicate:
        """Case-sensitive substring test (``%``, ``_`` and ``\\`` are literal)."""
        return self._compare(LookupOp.CONTAINS, needle)

    def icontains(self, needle: str) -> FieldPredicate:
        """Substring test folding ASCII letters only (``"É"`` does not match ``"é"``)."""
        return self._compare(LookupOp.ICONTAINS, needle)

    def startswith(self, needle: str) -> FieldPredicate:
        """Case-sensitive prefix test."""
        return self._compare(LookupOp.STARTSWITH, needle)

    def istartswith(self, needle: str) -> FieldPredicate:
        """Prefix test folding ASCII letters only."""
        return self._compare(LookupOp.ISTARTSWITH, needle)

    def endswith(self, needle: str) -> FieldPredicate:
        """Case-sensitive suffix test."""
        return self._compare(LookupOp.ENDSWITH, needle)

    def iendswith(self, needle: str) -> FieldPredicate:
        """Suffix test folding ASCII letters only."""
        return self._compare(LookupOp.IENDSWITH, needle)

    def iexact(self, needle: str) -> FieldPredicate:
        """Equality folding ASCII letters only (``"ALICE"`` matches ``"Alice"``)."""
        return self._compare(LookupOp.IEXACT, needle)

    def present(self) -> PresentField:
        """A builder whose comparisons are all false when the value is ``None``.

        :returns: a :class:`PresentField` recording ``present=True`` on every predicate.
        """
        return PresentField(self)

    @property
    def json(self) -> JsonPath:
        """The root JSON path of this field (for ``sassi.JSON`` / ``Any`` / dict fields).

        :raises TypeError: when the annotation cannot hold a JSON object or array.
        """
        from ._json import JsonPath

        if not admits_json(self.annotation):
            raise TypeError(f"{self._where()}: .json needs a sassi.JSON (or Any) field")
        return JsonPath(self.name, ())


class PresentField(_Builder):
    """``F.x.present()``: comparisons that are false whenever the value is ``None``.

    Offers ``== != < <= > >=``, ``eq ne lt le gt ge between in_ not_in``; each records the
    same :class:`~sassi.LookupOp` as the plain field with ``present=True``. ``!=`` and
    ``not_in`` are false on ``None`` too. ``None`` operands are refused.

    :param field: the plain field.
    """

    __slots__ = ()

    _present = True

    def __init__(self, field: Field) -> None:
        self.name = field.name
        self.annotation = field.annotation
        self.owner = field.owner


class Fields:
    """The field namespace of one model: ``F = sassi.fields(User); F.age >= 18``.

    Attribute access returns the (cached) :class:`Field`; ``F["name"]`` works too. An unknown
    name raises :class:`AttributeError` listing the known fields.

    :param owner: the model's qualified name (for messages).
    :param annotations: field name -> resolved annotation, in field order.
    """

    __slots__ = ("_fields", "_owner")

    def __init__(self, owner: str, annotations: Mapping[str, Any]) -> None:
        self._owner = owner
        self._fields = {name: Field(name, ann, owner) for name, ann in annotations.items()}

    def __getattr__(self, name: str) -> Field:
        if name in Fields.__slots__ or (name.startswith("__") and name.endswith("__")):
            raise AttributeError(name)  # protocol probes, or a copy not yet initialised
        try:
            return self._fields[name]
        except KeyError:
            known = ", ".join(self._fields) or "none"
            raise AttributeError(
                f"{self._owner} has no field {name!r} (known fields: {known})"
            ) from None

    def __getitem__(self, name: str) -> Field:
        try:
            return self._fields[name]
        except KeyError:
            known = ", ".join(self._fields) or "none"
            raise KeyError(f"{self._owner} has no field {name!r} (known fields: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __iter__(self) -> Iterator[Field]:
        return iter(self._fields.values())

    def __len__(self) -> int:
        return len(self._fields)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._fields})

    def __repr__(self) -> str:
        return f"<Fields of {self._owner}: {', '.join(self._fields)}>"
