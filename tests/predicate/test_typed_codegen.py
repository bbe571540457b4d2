"""Type-directed code generation: scans for models whose annotations exclude ``None`` skip the
``is None`` guards, and still give the interpreter's answer on values that break the annotation
(the generated code falls back on the ``TypeError``)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings

import sassi
from sassi import Delta, Punnu
from sassi._core._checks import never_none_fields
from sassi._model import model_info
from sassi.predicate import Predicate
from sassi.predicate._codegen import compile_typed_scan, generate_source
from sassi.predicate._evaluate import interpret
from strategies import Row, predicates, row_lists

EVERY_FIELD = frozenset(("id", "age", "score", "name", "flag", "payload"))


@dataclass(frozen=True, slots=True)
class Typed:
    id: int
    name: str
    age: int
    nick: str | None = None


T = sassi.fields(Typed)


def test_never_none_fields_follow_the_annotations() -> None:
    assert never_none_fields(model_info(Typed)) == {"id", "name", "age"}
    assert never_none_fields(model_info(Row)) == {"id"}  # Row's other fields are optional


def test_guards_are_dropped_only_where_none_raises() -> None:
    never = frozenset({"name", "age"})
    plain, _ = generate_source(T.name.startswith("a") & (T.age >= 18))
    typed, _ = generate_source(T.name.startswith("a") & (T.age >= 18), never)
    assert plain.count("is not None") == 4 and "is not None" not in typed
    # a present() != keeps its guard (None != v is True, not an error)
    kept, _ = generate_source(T.age.present() != 3, never)
    assert "is not None" in kept
    # nick may be None: untouched
    nick, _ = generate_source(T.nick.startswith("a"), never)
    assert "is not None" in nick


@settings(max_examples=300, deadline=None)
@given(p=predicates(max_leaves=5), data=row_lists(max_size=12))
def test_typed_scans_equal_the_interpreter_even_on_none_values(
    p: Predicate, data: list[Row]
) -> None:
    # claim every field never holds None, while the rows are full of None: every dropped
    # guard is exercised against the value it would have caught
    expected = [r for r in data if interpret(p, r)]
    assert compile_typed_scan(p, EVERY_FIELD)(data) == expected
    assert compile_typed_scan(p, frozenset({"name"}))(data) == expected


def test_a_pool_scope_uses_the_typed_scan_and_keeps_its_semantics() -> None:
    rows = [Typed(i, "ab"[i % 2] + "x", i % 40) for i in range(200)]
    rows.append(Typed(999, None, None))  # type: ignore[arg-type]  # breaks its annotations
    pool: Punnu[Typed] = Punnu(Typed)
    pool.apply_delta(Delta(items=rows))
    for predicate in (
        T.name.startswith("a") & (T.age >= 18),
        T.age < 5,
        T.age.between(3, 4) | T.name.iexact("BX"),
    ):
        want = [r for r in pool.scope().collect() if interpret(predicate, r)]
        assert pool.scope(predicate).collect() == want
        assert pool.scope().where(predicate).collect() == want
