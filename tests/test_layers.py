"""The package's layers, enforced: every module of conv_oracle lives in one layer folder, and imports
only point down.

Every ``import`` / ``from ... import`` statement counts, at module level or inside a function (late
imports), relative or absolute, and so does ``importlib.import_module("literal")``. An import names
the module it loads (``from ..targets import execution`` is conv_oracle.targets.execution,
``from ..targets import Target`` is conv_oracle.targets); the parent packages Python loads on the way
are not counted. The package root is the public face: ``from conv_oracle import NAME`` counts as an
import of the module NAME comes from (a submodule, or the module its lazy re-export table names);
``__version__`` is the root's own and counts as nothing.
"""

from __future__ import annotations

import ast
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import conv_oracle

PACKAGE = Path(conv_oracle.__file__).resolve().parent

#: layer folder -> rank; a module may import its own layer and lower ranks only
LAYERS = {
    "definition": 0,   # what a call is: parameters, geometry, torch's rules, dtypes, cases, invalid calls
    "oracle": 1,       # the numpy reference, and the reference applied to a case
    "machine": 2,      # fingerprint, supported versions, which kernel path runs a call, process hygiene, settings
    "targets": 3,      # the implementations under test; placing tensors and calling them
    "checks": 4,       # operands, comparison, snippets, failure kinds, isolation, the properties
    "harness": 5,      # pytest plugin, records, known deviations, profiles, the ISA matrix
    "strategies": 6,   # Hypothesis strategies
    "suite": 7,        # the differential tests        } peers: none imports another
    "report": 7,       # reports of a run             }
    "baseline": 7,     # baselines and their diffs    }
    "cli": 8,          # the conv-oracle command
}
#: the layers that import none of the things they describe or check, nor the test engine
PURE = ("definition", "oracle")
FORBIDDEN_IN_PURE = ("torch", "hypothesis", "pytest")
#: what the package root may hold besides the layer folders: the public face (lazy re-exports) and the
#: ``python -m conv_oracle`` entry point, both above every layer
ROOT_FILES = {"__init__.py", "__main__.py"}
#: the root's own names: importing them loads nothing else
ROOT_OWN = {"__version__"}


@dataclass(frozen=True)
class Import:
    module: str      # the importing module
    target: str      # what it imports (a dotted name; for third-party code, as written)
    line: int
    statement: str   # the source of the statement, for the message

    def where(self, root: Path, modules: dict[str, Path]) -> str:
        path = modules[self.module].relative_to(root.parent)
        return f"{path}:{self.line}: `{self.statement}`"


def module_files(root: Path) -> dict[str, Path]:
    """Every module under ``root`` (a package folder), by dotted name."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def root_exports(root: Path) -> dict[str, str]:
    """The root ``__init__``'s lazy re-export table (``_EXPORTS``): public name -> absolute module."""
    tree = ast.parse((root / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_EXPORTS" for t in node.targets):
            table = ast.literal_eval(node.value)
            return {name: f"{root.name}.{module}" for name, module in table.items()}
    return {}


@functools.lru_cache(maxsize=None)
def imports_of(root: Path) -> tuple[dict[str, Path], list[Import], list[str]]:
    """``(modules, imports, problems)``: every import statement in the package (late ones included),
    resolved to absolute names; ``problems`` lists imports the rules cannot judge."""
    modules = module_files(root)
    exports = root_exports(root)
    pkg_name = root.name
    imports, problems = [], []

    def resolve_from(base: str, name: str) -> str | None:
        """What ``from base import name`` loads: a module, or None for the root's own names."""
        if f"{base}.{name}" in modules:
            return f"{base}.{name}"
        if base == pkg_name:
            if name in exports:
                return exports[name]
            if name in ROOT_OWN:
                return None
        return base

    for module, path in modules.items():
        source = path.read_text()
        tree = ast.parse(source, filename=str(path))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) and not _imports_by_name(node):
                continue
            statement = " ".join((ast.get_source_segment(source, node) or "").split())
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                for alias in node.names:
                    targets.append(alias.name)
                    if alias.name == pkg_name:
                        problems.append(f"{module}: `{statement}` (line {node.lineno}) imports the package root "
                                        f"itself: import the names it uses (from {pkg_name} import NAME) or their "
                                        f"modules, so that the layers can be checked")
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    if node.level - 1 >= len(parts):
                        problems.append(f"{module}: `{statement}` (line {node.lineno}) climbs above the package")
                        continue
                    base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
                else:
                    base = node.module
                if base == pkg_name or base.startswith(pkg_name + "."):
                    targets += [resolve_from(base, alias.name) for alias in node.names]
                else:
                    targets.append(base)
            else:
                targets.append(node.args[0].value)
            for target in targets:
                if target is not None:
                    imports.append(Import(module, target, node.lineno, statement))
    return modules, imports, problems


def _imports_by_name(node) -> bool:
    """``importlib.import_module("literal")`` or ``__import__("literal")``."""
    return (isinstance(node, ast.Call) and bool(node.args) and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (getattr(node.func, "attr", None) == "import_module"
                 or getattr(node.func, "id", None) in ("import_module", "__import__")))


def layer_of(module: str) -> str | None:
    """The layer folder of a package module; None for the root's own two files."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def is_internal(target: str, root_name: str) -> bool:
    return target == root_name or target.startswith(root_name + ".")


# ---- the checks, as functions of a package folder (so that the self-test can plant faults) ----

def misplaced(root: Path) -> list[str]:
    """Files and folders at the root other than ``__init__.py``, ``__main__.py`` and the layer folders
    (so every other module is inside a layer); layers of the table that are missing."""
    bad = []
    for entry in sorted(os.listdir(root)):
        if entry == "__pycache__" or entry.startswith("."):
            continue
        if (root / entry).is_dir():
            if entry not in LAYERS:
                bad.append(f"{root.name}/{entry}/ is not a layer of the table {sorted(LAYERS)}")
        elif entry not in ROOT_FILES:
            bad.append(f"{root.name}/{entry} sits at the package root, which holds only {sorted(ROOT_FILES)} "
                       f"and the layer folders: move it into its layer")
    bad += [f"layer folder {root.name}/{layer}/ is missing" for layer in LAYERS if not (root / layer).is_dir()]
    bad += [f"layer {root.name}/{layer}/ has no __init__.py" for layer in LAYERS
            if (root / layer).is_dir() and not (root / layer / "__init__.py").is_file()]
    return bad


def upward_imports(root: Path) -> list[str]:
    """Imports of a higher layer (the root's ``__main__`` may import anything)."""
    modules, imports, problems = imports_of(root)
    bad = list(problems)
    for imp in imports:
        mine = layer_of(imp.module)
        if mine is None or not is_internal(imp.target, root.name):
            continue
        theirs = layer_of(imp.target)
        if theirs is None:
            what = "a name of the package root that is neither a module nor a re-export" \
                if imp.target == root.name else f"{imp.target}, which is in no layer"
            bad.append(f"{imp.module} imports {what}: {imp.where(root, modules)}")
            continue
        if LAYERS[theirs] > LAYERS[mine]:
            bad.append(f"{imp.module} (layer {LAYERS[mine]}, {mine}) imports {imp.target} (layer {LAYERS[theirs]}, "
                       f"{theirs}): {imp.where(root, modules)}")
    return bad


def peer_imports(root: Path) -> list[str]:
    """Imports between different folders of the same rank (suite, report, baseline)."""
    modules, imports, _ = imports_of(root)
    bad = []
    for imp in imports:
        mine, theirs = layer_of(imp.module), layer_of(imp.target)
        if mine and theirs and mine != theirs and LAYERS[mine] == LAYERS[theirs]:
            bad.append(f"{imp.module} ({mine}) imports its peer {imp.target} ({theirs}, same layer "
                       f"{LAYERS[mine]}): {imp.where(root, modules)}")
    return bad


def impure_imports(root: Path) -> list[str]:
    """torch, Hypothesis or pytest imported (anywhere, late or by name) in the definition or the oracle."""
    modules, imports, _ = imports_of(root)
    bad = []
    for imp in imports:
        if layer_of(imp.module) in PURE and imp.target.split(".")[0] in FORBIDDEN_IN_PURE:
            bad.append(f"{imp.module} ({layer_of(imp.module)}) imports {imp.target}: "
                       f"{imp.where(root, modules)}")
    return bad


def import_cycles(root: Path) -> list[str]:
    """Each strongly connected set of modules (every import counted, late ones included), with the
    imports that close it."""
    modules, imports, _ = imports_of(root)
    edges: dict[str, dict[str, Import]] = {m: {} for m in modules}
    for imp in imports:
        if imp.target in modules and imp.target != imp.module:
            edges[imp.module].setdefault(imp.target, imp)
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):  # Tarjan's algorithm (recursion depth stays below the number of modules)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(modules):
        if v not in index:
            visit(v)
    bad = []
    for component in components:
        cycle = _shortest_cycle(component[0], edges, set(component))
        bad.append(f"import cycle among {', '.join(component)}; one circle:\n    "
                   + "\n    ".join(f"{imp.module} -> {imp.target}: {imp.where(root, modules)}" for imp in cycle))
    return bad


def _shortest_cycle(start: str, edges: dict[str, dict[str, Import]], inside: set[str]) -> list[Import]:
    """The imports of a shortest circle from ``start`` back to it, within ``inside`` (breadth first)."""
    previous: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w, imp in sorted(edges[v].items()):
                if w not in inside or w in previous:
                    continue
                previous[w] = imp
                if w == start:
                    path, node = [], start
                    while True:
                        path.append(previous[node])
                        node = previous[node].module
                        if node == start:
                            return path[::-1]
                following.append(w)
        frontier = following
    return []


# ---- the tests ---------------------------------------------------------------------------------

def _report(problems: list[str]) -> str:
    return "\n".join(problems)


def test_the_root_holds_only_its_public_face_and_the_layers():
    """(5) conv_oracle/ holds __init__.py, __main__.py and the layer folders of the table, nothing else."""
    problems = misplaced(PACKAGE)
    assert not problems, _report(problems)


def test_no_module_imports_a_higher_layer():
    """(1) Every import (late and relative ones included) points to the same layer or a lower one."""
    problems = upward_imports(PACKAGE)
    assert not problems, _report(problems)


def test_peer_layers_do_not_import_each_other():
    """(2) suite, report and baseline share rank 7 and import none of each other."""
    problems = peer_imports(PACKAGE)
    assert not problems, _report(problems)


def test_definition_and_oracle_import_neither_torch_nor_hypothesis_nor_pytest():
    """(3) The definition and the oracle never load what they describe or the test engine, not even late."""
    problems = impure_imports(PACKAGE)
    assert not problems, _report(problems)


def test_no_import_cycle():
    """(4) No circle of imports among the modules, late imports included."""
    problems = import_cycles(PACKAGE)
    assert not problems, _report(problems)


def test_each_layer_says_what_it_is_and_may_import():
    """Each layer's __init__ docstring names its rank ("Layer N"), the same as this table."""
    wrong = []
    for layer, rank in LAYERS.items():
        doc = ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text())) or ""
        if f"Layer {rank}" not in doc:
            wrong.append(f"{PACKAGE.name}/{layer}/__init__.py: its docstring does not say 'Layer {rank}'")
    assert not wrong, _report(wrong)


def test_the_root_re_exports_only_existing_modules():
    """Every entry of the root's lazy re-export table names a module of a layer."""
    modules = module_files(PACKAGE)
    exports = root_exports(PACKAGE)
    assert exports, "no _EXPORTS table found in conv_oracle/__init__.py"
    wrong = [f"{name} -> {module}" for name, module in exports.items()
             if module not in modules or layer_of(module) is None]
    assert not wrong, wrong


def test_the_checks_catch_planted_faults(tmp_path):
    """Self-test: a package with one fault of each kind fails each check, naming the module and import."""
    root = tmp_path / "pkg"
    files = {
        "__init__.py": '_EXPORTS = {"Case": "definition.case"}\n__version__ = "1"\n',
        "__main__.py": "from .cli import main\n",
        "stray.py": "",
        "definition/__init__.py": '"""Layer 0."""\n',
        "definition/case.py": "import numpy\n\ndef f():\n    from ..checks import isolation\n    import torch\n",
        "definition/params.py": "from .. import __version__\nfrom pkg import Case\n",
        "definition/dtypes.py": "from .. import _EXPORTS\n",
        "oracle/__init__.py": '"""Layer 1."""\n',
        "oracle/gather.py": "import importlib\nimportlib.import_module('hypothesis.strategies')\n",
        "checks/__init__.py": "",
        "checks/isolation.py": "def g():\n    from . import properties\n",
        "checks/properties.py": "from .isolation import g\n",
        "report/__init__.py": "",
        "report/text.py": "from ..baseline import diff\n",
        "baseline/__init__.py": "",
        "baseline/diff.py": "",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)

    assert any("pkg/stray.py sits at the package root" in p for p in misplaced(root))
    assert any("layer folder pkg/machine/ is missing" in p for p in misplaced(root))
    upward = _report(upward_imports(root))
    assert ("pkg.definition.case (layer 0, definition) imports pkg.checks.isolation (layer 4, checks): "
            "pkg/definition/case.py:4: `from ..checks import isolation`") in upward
    assert "pkg.definition.params" not in upward  # __version__ and a re-export of its own layer: fine
    assert "pkg.definition.dtypes imports a name of the package root that is neither a module nor a re-export" \
        in upward
    assert "pkg.report.text (layer 7, report) imports pkg.baseline.diff" not in upward  # same rank: not upward
    assert "pkg.report.text (report) imports its peer pkg.baseline.diff (baseline, same layer 7)" in \
        _report(peer_imports(root))
    impure = _report(impure_imports(root))
    assert "pkg.definition.case (definition) imports torch: pkg/definition/case.py:5: `import torch`" in impure
    assert "pkg.oracle.gather (oracle) imports hypothesis.strategies" in impure
    cycles = _report(import_cycles(root))
    assert "import cycle among pkg.checks.isolation, pkg.checks.properties; one circle:" in cycles
    assert "pkg.checks.isolation -> pkg.checks.properties: pkg/checks/isolation.py:2: `from . import properties`" \
        in cycles
