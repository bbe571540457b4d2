"""sassi: a typed, queryable, self-refreshing local view of the data your service fetches.

``Punnu`` is a typed in-memory pool keyed by each model's identity; predicates built from
``sassi.fields(Model)`` evaluate in memory and lower to SQL with the same results.

``sassi.compiled`` is ``True`` when the core runs compiled (a wheel built with mypyc) and
``False`` when it runs as pure Python (a checkout, an sdist, or ``SASSI_PURE_PYTHON=1``).
"""

from . import _pure

if _pure.requested():  # before any core module is imported: load the .py files
    _pure.prefer_source()

from . import backends as backends
from . import exceptions as exceptions
from . import predicate as predicate
from . import testing as testing
from . import wire as wire
from ._config import BackendFailure as BackendFailure
from ._config import CacheTier as CacheTier
from ._config import EventReason as EventReason
from ._config import InvalidationReason as InvalidationReason
from ._config import OnConflict as OnConflict
from ._config import PunnuConfig as PunnuConfig
from ._config import RefreshMode as RefreshMode
from ._config import SnapshotMode as SnapshotMode
from ._delta import Delta as Delta
from ._delta import DeltaQuery as DeltaQuery
from ._delta import DeltaStats as DeltaStats
from ._delta_refresh import DeltaRefreshHandle as DeltaRefreshHandle
from ._delta_refresh import UpdateResult as UpdateResult
from ._events import Event as Event
from ._events import Inserted as Inserted
from ._events import Invalidated as Invalidated
from ._events import Lagged as Lagged
from ._events import Subscription as Subscription
from ._events import Updated as Updated
from ._fetch import Loader as Loader
from ._model import ModelInfo as ModelInfo
from ._model import cacheable as cacheable
from ._model import fields as fields
from ._model import model_info as model_info
from ._model import type_name as type_name
from ._punnu import Punnu as Punnu
from ._refresh import RefreshHandle as RefreshHandle
from ._registry import Sassi as Sassi
from ._scope import MemQ as MemQ
from ._scope import Scope as Scope
from ._snapshot import RestoreStats as RestoreStats
from ._stats import PunnuStats as PunnuStats
from ._tenant import TenantKey as TenantKey
from ._traits import trait_impl as trait_impl
from .exceptions import BackendError as BackendError
from .exceptions import BackendTimeout as BackendTimeout
from .exceptions import BackendUnavailable as BackendUnavailable
from .exceptions import BackendWriteInFlight as BackendWriteInFlight
from .exceptions import CodecError as CodecError
from .exceptions import ConflictError as ConflictError
from .exceptions import DuplicateId as DuplicateId
from .exceptions import IdentityMismatchError as IdentityMismatchError
from .exceptions import InvalidMagic as InvalidMagic
from .exceptions import KindMismatch as KindMismatch
from .exceptions import MalformedHeader as MalformedHeader
from .exceptions import SassiError as SassiError
from .exceptions import SnapshotError as SnapshotError
from .exceptions import TooManyEntries as TooManyEntries
from .exceptions import TypeNameMismatch as TypeNameMismatch
from .exceptions import UnsupportedFlags as UnsupportedFlags
from .exceptions import UnsupportedKind as UnsupportedKind
from .exceptions import VersionMismatch as VersionMismatch
from .exceptions import WireFormatError as WireFormatError
from .predicate import FALSE as FALSE
from .predicate import JSON as JSON
from .predicate import TRUE as TRUE
from .predicate import And as And
from .predicate import Const as Const
from .predicate import Field as Field
from .predicate import FieldPredicate as FieldPredicate
from .predicate import Fields as Fields
from .predicate import JsonKind as JsonKind
from .predicate import JsonPath as JsonPath
from .predicate import JsonPredicate as JsonPredicate
from .predicate import JsonTest as JsonTest
from .predicate import JsonValue as JsonValue
from .predicate import LookupOp as LookupOp
from .predicate import Not as Not
from .predicate import Or as Or
from .predicate import Predicate as Predicate
from .predicate import PresentField as PresentField
from .predicate import Xor as Xor

from ._core import _pool as _core_pool  # isort: skip

compiled: bool = _pure.is_compiled(_core_pool)
"""Whether the core runs compiled (mypyc) or as pure Python."""

__version__ = "0.1.0"

__all__ = [
    "And",
    "BackendError",
    "BackendFailure",
    "BackendTimeout",
    "BackendUnavailable",
    "BackendWriteInFlight",
    "CacheTier",
    "CodecError",
    "ConflictError",
    "Const",
    "Delta",
    "DeltaQuery",
    "DeltaRefreshHandle",
    "DeltaStats",
    "DuplicateId",
    "Event",
    "EventReason",
    "FALSE",
    "Field",
    "FieldPredicate",
    "Fields",
    "IdentityMismatchError",
    "Inserted",
    "InvalidMagic",
    "Invalidated",
    "InvalidationReason",
    "JSON",
    "JsonKind",
    "JsonPath",
    "JsonPredicate",
    "JsonTest",
    "JsonValue",
    "KindMismatch",
    "Lagged",
    "Loader",
    "LookupOp",
    "MalformedHeader",
    "MemQ",
    "ModelInfo",
    "Not",
    "OnConflict",
    "Or",
    "Predicate",
    "PresentField",
    "Punnu",
    "PunnuConfig",
    "PunnuStats",
    "RefreshHandle",
    "RefreshMode",
    "RestoreStats",
    "Sassi",
    "SassiError",
    "Scope",
    "SnapshotError",
    "SnapshotMode",
    "Subscription",
    "TRUE",
    "TenantKey",
    "TooManyEntries",
    "TypeNameMismatch",
    "UnsupportedFlags",
    "UnsupportedKind",
    "UpdateResult",
    "Updated",
    "VersionMismatch",
    "WireFormatError",
    "Xor",
    "backends",
    "cacheable",
    "compiled",
    "exceptions",
    "fields",
    "model_info",
    "predicate",
    "testing",
    "trait_impl",
    "type_name",
    "wire",
]
