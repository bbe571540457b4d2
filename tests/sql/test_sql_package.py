"""`sassi.sql`: its public names, and the only library package that imports SQLAlchemy."""

from __future__ import annotations
import __future__

import ast
import subprocess
import sys
from pathlib import Path

import sassi.sql

SRC = Path(sassi.sql.__file__).resolve().parent.parent.parent  # src/


def test_public_surface() -> None:
    names = ["Listener", "Source", "notify_trigger_ddl", "to_sqlalchemy"]
    assert sassi.sql.__all__ == names
    public = [
        name
        for name, value in vars(sassi.sql).items()
        if not name.startswith("_")
        and not isinstance(value, type(sassi))  # submodules, which are all private
        and not isinstance(value, __future__._Feature)  # `from __future__ import annotations`
    ]
    assert sorted(public) == names
    assert sassi.sql.to_sqlalchemy.__module__ == "sassi.sql._lower"
    assert sassi.sql.Source.__module__ == "sassi.sql._source"
    assert sassi.sql.notify_trigger_ddl.__module__ == "sassi.sql._listen"


def test_importing_sassi_sql_does_not_import_psycopg() -> None:
    code = (
        "import sys, sassi.sql\n"
        "assert 'psycopg' not in sys.modules, 'sassi.sql imported psycopg'\n"
        "assert 'sqlalchemy.ext.asyncio' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


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
