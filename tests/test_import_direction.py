"""Dependency direction: core <- domain apps <- outer layers; nothing imports views."""

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.database_independent

SRC = Path(__file__).resolve().parents[1] / "src" / "kreis"
DOMAIN = {
    "core",
    "parties",
    "commerce",
    "sales",
    "leads",
    "marketing",
    "activities",
    "service",
    "feedback",
    "channels",
    "social",
    "mailings",
    "pricing",
}
OUTER = {
    "inbox",
    "analytics",
    "playbooks",
    "portal",
    "automation",
    "migration",
    "privacy",
    "api",
    "cli",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "kreis" else None


def test_domain_apps_never_import_outer_layers():
    offences = []
    for app in DOMAIN:
        for path in (SRC / app).rglob("*.py") if (SRC / app).exists() else []:
            for module in imported_modules(path):
                if app_of(module) in OUTER:
                    offences.append(f"{path.relative_to(SRC)} imports {module}")
    assert offences == []


def test_core_imports_no_domain_app():
    offences = [
        f"{path.relative_to(SRC)} imports {module}"
        for path in (SRC / "core").rglob("*.py")
        for module in imported_modules(path)
        if app_of(module) in DOMAIN - {"core"}
    ]
    assert offences == []


def test_nothing_imports_views_except_url_configuration():
    offences = []
    for path in SRC.rglob("*.py"):
        if path.name == "urls.py" or path.stem.endswith("views"):
            continue
        for module in imported_modules(path):
            if app_of(module) is None:
                continue  # Django's own views (auth's redirect_to_login) are no layer of ours
            if module.endswith("views") or ".views." in module or module.endswith("_views"):
                offences.append(f"{path.relative_to(SRC)} imports {module}")
    assert offences == []


def test_topics_are_subpackages_not_file_name_suffixes():
    # DESIGN.md (Layout): a topic with its own views, forms, services or queries becomes a
    # subpackage (analytics/margin/views.py), never views_margin.py beside views.py.
    suffixed = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts
        and path.stem.split("_", 1)[0] in {"views", "forms", "services", "queries"}
        and "_" in path.stem
    ]
    assert suffixed == []


def module_graph() -> dict[str, set[str]]:
    """Each Kreis module → the Kreis modules it imports (inside functions too: a deferred
    import is still a dependency, it only hides a cycle from the interpreter)."""
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        found = set()
        for module in imported_modules(path):
            # "from kreis.x import y" names module kreis.x.y when there is one, else kreis.x
            while module and module not in modules:
                module = module.rpartition(".")[0]
            if module and module != name:
                found.add(module)
        graph[name] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or round a loop (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while (member := stack.pop()) != node:
                group.append(member)
            if group:
                found.append(sorted([node, *group]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert cycles(module_graph()) == []


def test_the_cycle_check_sees_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_check_sees_an_offence(tmp_path):
    # The checker itself works: an outer-layer import is found.
    sample = tmp_path / "sample.py"
    sample.write_text("from kreis.analytics.customer import clv\nimport kreis.api\n")
    assert {app_of(m) for m in imported_modules(sample)} >= {"analytics", "api"}
