"""Golden files: the SQL each engine sends, pinned in ``tests/golden/<engine>/<name>.sql``.

Set ``SPARKIFY_UPDATE_GOLDEN=1`` to rewrite them from the current code, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def as_file(statements: list[str]) -> str:
    return "".join(statement.strip() + ";\n\n" for statement in statements).rstrip() + "\n"


def check(engine: str, name: str, statements: list[str]) -> None:
    path = GOLDEN / engine / f"{name}.sql"
    text = as_file(statements)
    if os.environ.get("SPARKIFY_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run the tests with SPARKIFY_UPDATE_GOLDEN=1"
    assert text == path.read_text(), (
        f"{path} differs from the SQL the code sends: review, then SPARKIFY_UPDATE_GOLDEN=1"
    )
