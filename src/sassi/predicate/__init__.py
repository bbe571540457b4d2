"""The predicate algebra: build, combine, walk and evaluate predicates over model fields."""

from ._field import Field as Field
from ._field import Fields as Fields
from ._field import PresentField as PresentField
from ._json import JsonPath as JsonPath
from ._json import JsonValue as JsonValue
from ._json_body import JSON as JSON
from ._json_body import JsonKind as JsonKind
from ._json_body import JsonPredicate as JsonPredicate
from ._json_body import JsonTest as JsonTest
from ._nodes import FALSE as FALSE
from ._nodes import MAX_DEPTH as MAX_DEPTH
from ._nodes import TRUE as TRUE
from ._nodes import And as And
from ._nodes import Const as Const
from ._nodes import FieldPredicate as FieldPredicate
from ._nodes import Not as Not
from ._nodes import Or as Or
from ._nodes import Predicate as Predicate
from ._nodes import SupportsPredicate as SupportsPredicate
from ._nodes import Xor as Xor
from ._nodes import as_predicate as as_predicate
from ._ops import LookupOp as LookupOp
from ._wire import dumps as dumps
from ._wire import loads as loads
from ._wire_limits import MAX_DOCUMENT_BYTES as MAX_DOCUMENT_BYTES
from ._wire_limits import MAX_JSON_NESTING as MAX_JSON_NESTING
from ._wire_limits import MAX_NODES as MAX_NODES
from ._wire_limits import MAX_NUMBER_DIGITS as MAX_NUMBER_DIGITS
from ._wire_limits import MAX_NUMBER_EXPONENT as MAX_NUMBER_EXPONENT

__all__ = [
    "And",
    "Const",
    "FALSE",
    "Field",
    "FieldPredicate",
    "Fields",
    "JSON",
    "JsonKind",
    "JsonPath",
    "JsonPredicate",
    "JsonTest",
    "JsonValue",
    "LookupOp",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_JSON_NESTING",
    "MAX_NODES",
    "MAX_NUMBER_DIGITS",
    "MAX_NUMBER_EXPONENT",
    "Not",
    "Or",
    "Predicate",
    "PresentField",
    "SupportsPredicate",
    "TRUE",
    "Xor",
    "as_predicate",
    "dumps",
    "loads",
]
