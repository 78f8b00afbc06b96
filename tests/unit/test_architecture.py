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
    "credentials": {
        "cryptography",
        "cbor2",
        "pycose",
        "pypinyin",
        "edl.domain",
        "edl.pki",
        "zlib",
        "segno",
        "base45",
    },
}
# Pure modules inside packages that also hold services: what they may import.
PURE_MODULES = {
    "verification/purposes.py": {"edl.verification.purposes"},
    "verification/offline.py": {
        "cryptography",
        "edl.domain",
        "edl.credentials",
        "edl.pki",
        "edl.verification.purposes",
    },
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


@pytest.mark.parametrize("module", sorted(PURE_MODULES))
def test_pure_modules_stay_pure(module: str) -> None:
    import sys

    path = SRC / module
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for name in _imports(path):
        if name.split(".")[0] in stdlib:
            continue
        assert any(name == a or name.startswith(a + ".") for a in PURE_MODULES[module]), (
            f"{module} imports {name}, outside what a pure module may use"
        )
