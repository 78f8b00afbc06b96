"""Architecture as a test: dependencies flow inward (entrypoints → services → domain)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "edl"

# package -> top-level modules it may import besides the standard library and itself
ALLOWED = {
    "domain": set(),
    "pki": {"cryptography"},
    "credentials": {"cryptography", "cbor2", "pycose", "pypinyin", "edl.domain", "edl.pki", "zlib", "segno"},
}
FORBIDDEN_EVERYWHERE_IN_CORE = {"sqlalchemy", "fastapi", "starlette", "uvicorn", "edl.db", "edl.web", "edl.registry"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_core_packages_import_nothing_from_outer_layers(package: str) -> None:
    import sys

    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    files = sorted((SRC / package).rglob("*.py"))
    assert files, f"no modules in {package}"
    for f in files:
        for name in _imports(f):
            top = name.split(".")[0]
            if top in stdlib or name.startswith(f"edl.{package}"):
                continue
            assert not any(name == b or name.startswith(b + ".") for b in FORBIDDEN_EVERYWHERE_IN_CORE), (
                f"{f.relative_to(SRC)} imports {name}"
            )
            allowed = ALLOWED[package]
            assert any(name == a or name.startswith(a + ".") or top == a for a in allowed), (
                f"{f.relative_to(SRC)} imports {name}, outside what {package} may use"
            )
