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
        "joserfc",  # JOSE (JWE, JWK) for OpenID4VP / OpenID4VCI, as cbor2 is for CBOR
        "edl.boundedjson",  # depth-limited JSON parsing (plain, no I/O)
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


# --- the import graph of src/edl: every import counts, at module level, inside functions or under TYPE_CHECKING ---

ENTRY_POINTS = ("edl.cli", "edl.web.app", "edl.asgi", "edl.__main__")
"""The only modules that may import the composition root (`edl.bootstrap`)."""
SERVICES = (
    "edl.accounts",
    "edl.applications",
    "edl.audit",
    "edl.issuance",
    "edl.notifications",
    "edl.registry",
    "edl.rendering",
    "edl.storage",
    "edl.verification",
)
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in SRC.rglob("*.py") if "migrations" not in p.parts}


def _within(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _graph() -> dict[str, set[str]]:
    """module -> the edl modules it imports (a name imported from a package counts as its submodule when one
    exists; relative imports resolved)."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                names = [base, *(f"{base}.{a.name}" for a in node.names)]
            for name in names:
                if _within(name, "edl") and (target := resolve(name)) and target != module:
                    targets.add(target)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _offending(rule: str, pairs: list[tuple[str, str]]) -> str:
    return f"{rule}:\n" + "\n".join(f"  {a} imports {b}" for a, b in sorted(pairs))


def test_no_import_cycle_between_modules() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_only_entry_points_import_the_composition_root() -> None:
    bad = [
        (m, t)
        for m, targets in _graph().items()
        for t in targets
        if _within(t, "edl.bootstrap") and not _within(m, ENTRY_POINTS)
    ]
    assert not bad, _offending("only cli/, web/app.py and asgi.py may import edl.bootstrap", bad)


def test_services_import_neither_web_nor_cli() -> None:
    bad = [
        (m, t)
        for m, targets in _graph().items()
        if _within(m, SERVICES)
        for t in targets
        if _within(t, ("edl.web", "edl.cli", "edl.bootstrap"))
    ]
    assert not bad, _offending("services are called by the entry points, never the other way", bad)


def test_the_database_layer_imports_nothing_above_it() -> None:
    bad = [
        (m, t)
        for m, targets in _graph().items()
        if _within(m, "edl.db")
        for t in targets
        if _within(t, ("edl.web", "edl.cli", "edl.bootstrap", *SERVICES))
    ]
    assert not bad, _offending("edl.db is below the services and the web", bad)


def test_the_registry_and_the_issuer_side_do_not_import_the_verifier_side() -> None:
    bad = [
        (m, t)
        for m, targets in _graph().items()
        if _within(m, ("edl.registry", "edl.issuance"))
        for t in targets
        if _within(t, "edl.verification")
    ]
    assert not bad, _offending("the verifier side (edl.verification) is for relying parties only", bad)


def test_the_web_layer_formats_results_not_orm_rows() -> None:
    bad = [
        (m, t)
        for m, targets in _graph().items()
        if _within(m, "edl.web")
        for t in targets
        if _within(t, "edl.db.models")
    ]
    assert not bad, _offending("use cases return result types; the web layer does not read ORM rows", bad)


def test_no_module_is_over_500_lines() -> None:
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these along a seam you can name: {long}"


def test_the_graph_sees_imports_inside_functions_and_type_checking_blocks() -> None:
    graph = _graph()
    assert "edl.bootstrap" in graph["edl.cli.common"]
    assert "edl.issuance.status" in graph["edl.bootstrap"]  # imported inside a cached property


def test_the_web_layer_is_organised_by_audience() -> None:
    """Issue 13, item 1: route modules live in one folder per audience (holder, staff, verifier, public), and so do
    their templates; nothing is left in a shared routes folder."""
    web = SRC / "web"
    assert not (web / "routes").exists()
    for audience in ("holder", "staff", "verifier", "public"):
        assert (web / audience / "__init__.py").is_file(), audience
        assert list((web / audience).glob("*.py")) != [web / audience / "__init__.py"], audience
        assert (web / "templates" / audience).is_dir(), audience
    loose = sorted(p.name for p in (web / "templates").glob("*.html"))
    assert loose == ["_badges.html", "_error_panel.html", "base.html"], "only the shared skeleton and partials"
    for audience in ("holder", "staff", "verifier"):
        own = web / "templates" / audience
        assert (own / "_base.html").is_file() or (own / "_layout.html").is_file(), audience
        assert (own / "error.html").is_file(), audience
