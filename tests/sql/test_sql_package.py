"""`sassi.sql`: one public name, and the only library package that imports SQLAlchemy."""

from __future__ import annotations
import __future__

import ast
from pathlib import Path

import sassi.sql

SRC = Path(sassi.sql.__file__).resolve().parent.parent.parent  # src/


def test_public_surface_is_to_sqlalchemy() -> None:
    assert sassi.sql.__all__ == ["to_sqlalchemy"]
    public = [
        name
        for name, value in vars(sassi.sql).items()
        if not name.startswith("_")
        and not isinstance(value, type(sassi))  # submodules, which are all private
        and not isinstance(value, __future__._Feature)  # `from __future__ import annotations`
    ]
    assert public == ["to_sqlalchemy"]
    assert sassi.sql.to_sqlalchemy.__module__ == "sassi.sql._lower"


def _imports_sqlalchemy(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(n == "sqlalchemy" or n.startswith("sqlalchemy.") for n in names):
            return True
    return False


def test_only_the_sql_package_imports_sqlalchemy() -> None:
    importers = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if _imports_sqlalchemy(p))
    sql_modules = [i for i in importers if i.startswith("sassi/sql/")]
    assert len(sql_modules) >= 5  # the package itself, split by concern
    # the CLI demo (above everything, SQLAlchemy optional) is the one other importer
    assert [i for i in importers if i not in sql_modules] == ["sassi/_demo.py"]
