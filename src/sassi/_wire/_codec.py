"""One MessagePack codec per model class: value <-> ``{field name: field value}`` map.

Field values are decoded against the model's field annotations (msgspec types); a field whose
annotation msgspec cannot decode comes back as the plain MessagePack value. Codecs are built on
first use and cached per class (weakly); :func:`model_for` maps a type name back to the class
last seen for it.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._model import ModelInfo, check_portable, model_info
from ..exceptions import CodecError
from ._header import Kind, encode_header, read_header
from ._lazy import LazyModule

if TYPE_CHECKING:
    import msgspec
else:
    msgspec = LazyModule("msgspec", globals())

__all__ = ["Codec", "codec", "decodable", "decode_errors", "enc_hook", "encoder", "model_for"]

# what msgspec (or a bad string inside the data) can raise while decoding untrusted bytes
_BASE_DECODE_ERRORS = (ValueError, TypeError, OverflowError, RecursionError)


def decode_errors() -> tuple[type[BaseException], ...]:
    """What decoding untrusted bytes can raise (evaluated only when something was raised)."""
    return (msgspec.MsgspecError, *_BASE_DECODE_ERRORS)


def decodable(annotation: Any) -> Any:
    """``annotation`` if msgspec can decode it, else ``Any`` (JSON fields, foreign classes)."""
    try:
        msgspec.msgpack.Decoder(annotation)
    except Exception:
        return Any
    return annotation


def enc_hook(obj: Any) -> Any:
    """msgspec's fallback for objects it has no encoding for (nested pydantic models)."""
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump()
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


@functools.cache
def encoder() -> msgspec.msgpack.Encoder:
    """The shared MessagePack encoder, built on first use."""
    return msgspec.msgpack.Encoder(enc_hook=enc_hook)


class Codec:
    """Encode/decode one model's values to and from their MessagePack map form."""

    __slots__ = (
        "_build",
        "_decoder",
        "_field_names",
        "_headers",
        "_hints_decoder",
        "_info",
        "_list_decoder",
        "get_id",
        "model",
        "type_name",
    )

    def __init__(self, model: type) -> None:
        info = model_info(model)
        self._info: ModelInfo = info
        self.model = model
        self.type_name = info.type_name
        self.get_id: Callable[[Any], Any] = info.get_id
        names = list(info.annotations)
        self._field_names = tuple(names)
        specs = [(f"f{i}", decodable(ann)) for i, ann in enumerate(info.annotations.values())]
        shadow = msgspec.defstruct(
            f"_Wire_{model.__name__}",
            specs,
            rename={f"f{i}": name for i, name in enumerate(names)},
            forbid_unknown_fields=True,
        )
        self._decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(shadow)
        self._list_decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(
            list[shadow]  # type: ignore[valid-type]
        )
        self._hints_decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(
            list[tuple[shadow, int, int, int]]  # type: ignore[valid-type]
        )
        self._build = _builder(model, names)
        self._headers: dict[Kind, bytes] = {}

    def to_map(self, value: Any) -> dict[str, Any]:
        """``{field name: value}`` in field order.

        :raises ValueError: for a ``wire_portable`` model's value holding NaN or infinity.
        """
        check_portable(self._info, value)
        return {name: getattr(value, name) for name in self._field_names}

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, self.model):
            raise TypeError(f"expected a {self.model.__qualname__}, got {type(value).__qualname__}")
        fields = self.to_map(value)
        try:
            return encoder().encode(fields)
        except (TypeError, ValueError, OverflowError) as exc:
            raise CodecError(f"cannot encode {self.type_name} value: {exc}") from exc

    def header(self, kind: Kind) -> bytes:
        """This model's header for ``kind`` (cached)."""
        found = self._headers.get(kind)
        if found is None:
            found = self._headers[kind] = encode_header(kind, self.type_name)
        return found

    def body_offset(self, data: bytes | bytearray | memoryview, kind: Kind) -> int:
        """Where the body starts, after validating the header (fast path: the exact header)."""
        expected = self.header(kind)
        if data[: len(expected)] == expected:
            return len(expected)
        return read_header(data, (kind,), self.type_name)[1]

    def from_shadow(self, shadow: Any) -> Any:
        """Build the model value; its id must be hashable (an ``Any`` id may decode as a
        list or a map, which no pool can hold), and a ``wire_portable`` value finite."""
        try:
            value = self._build(msgspec.structs.astuple(shadow))
        except Exception as exc:  # the model's own validation rejected the data
            raise CodecError(f"cannot build {self.type_name} from wire data: {exc}") from exc
        try:
            hash(self.get_id(value))
        except Exception as exc:
            raise CodecError(
                f"{self.type_name} wire data has an id that is not hashable: {exc}"
            ) from exc
        try:
            check_portable(self._info, value)
        except ValueError as exc:
            raise CodecError(f"bad {self.type_name} wire data: {exc}") from exc
        return value

    def decode(self, body: bytes | memoryview) -> Any:
        try:
            shadow = self._decoder.decode(body)
        except decode_errors() as exc:
            raise CodecError(f"bad {self.type_name} body: {exc}") from exc
        return self.from_shadow(shadow)

    def decode_raw_list(self, body: bytes | memoryview, *, hints: bool = False) -> list[Any]:
        decoder = self._hints_decoder if hints else self._list_decoder
        try:
            return list(decoder.decode(body))
        except decode_errors() as exc:
            raise CodecError(f"bad {self.type_name} entries body: {exc}") from exc


def _builder(model: type, names: list[str]) -> Callable[[Sequence[Any]], Any]:
    """How to construct ``model`` from its field values in field order."""
    if hasattr(model, "model_validate") and hasattr(model, "model_fields"):  # pydantic v2
        validate = model.model_validate

        def build_pydantic(values: Sequence[Any]) -> Any:
            return validate(dict(zip(names, values, strict=True)), by_name=True, by_alias=False)

        return build_pydantic
    attrs_attrs = getattr(model, "__attrs_attrs__", None)
    if attrs_attrs is not None:  # attrs strips a leading underscore from __init__ names
        aliases = {a.name: getattr(a, "alias", None) or a.name.lstrip("_") for a in attrs_attrs}
        init_names = [aliases.get(n, n) for n in names]
        return lambda values: model(**dict(zip(init_names, values, strict=True)))
    if dataclasses.is_dataclass(model) and not all(f.init for f in dataclasses.fields(model)):
        return _setattr_builder(model, names)
    if (
        not dataclasses.is_dataclass(model)
        and attrs_attrs is None
        and not hasattr(model, "__struct_fields__")
        and not issubclass(model, tuple)
        and model.__init__ is object.__init__
    ):
        return _setattr_builder(model, names)
    return lambda values: model(**dict(zip(names, values, strict=True)))


def _setattr_builder(model: type, names: list[str]) -> Callable[[Sequence[Any]], Any]:
    def build(values: Sequence[Any]) -> Any:
        obj: Any = object.__new__(model)
        for name, value in zip(names, values, strict=True):
            object.__setattr__(obj, name, value)
        return obj

    return build


_codecs: weakref.WeakKeyDictionary[type, Codec] = weakref.WeakKeyDictionary()
_known: weakref.WeakValueDictionary[str, type] = weakref.WeakValueDictionary()
_codec_lock = threading.Lock()


def codec(model: type) -> Codec:
    """The cached codec of ``model`` (built on first use)."""
    found = _codecs.get(model)
    if found is not None:
        return found
    with _codec_lock:
        found = _codecs.get(model)
        if found is None:
            found = Codec(model)
            _codecs[model] = found
            _known[found.type_name] = model
        return found


def model_for(type_name: str) -> type | None:
    """The model class last seen (by :func:`dumps`, :func:`loads` or a pool) for ``type_name``."""
    return _known.get(type_name)
