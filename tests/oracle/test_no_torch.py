"""The oracle is independent of torch (the thing it checks), and its two operators of each other."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import conv_oracle

pytestmark = pytest.mark.oracle

PACKAGE = Path(conv_oracle.__file__).resolve().parent
ORACLE_FILES = sorted((PACKAGE / "oracle").glob("*.py")) + [
    PACKAGE / "definition" / name for name in ("geometry.py", "params.py", "validation.py", "errors.py")]


def imported_modules(path):
    """Every module an ``import`` / ``from ... import`` statement in ``path`` names, as
    ``(level, dotted name)`` pairs; ``from . import a`` gives ``(1, 'a')``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.module:
                found.append((node.level, node.module))
                found += [(node.level, f"{node.module}.{alias.name}") for alias in node.names]
            else:
                found += [(node.level, alias.name) for alias in node.names]
    return found


def test_importing_and_running_the_oracle_does_not_import_torch():
    """In a fresh interpreter: import the package, run both operators and the masks; torch stays unloaded."""
    code = """
import sys
import numpy as np
import conv_oracle, conv_oracle.oracle
import conv_oracle.definition.geometry, conv_oracle.definition.validation, conv_oracle.definition.params
x = np.arange(2 * 6 * 6, dtype=float).reshape(1, 2, 6, 6)
w = np.ones((2, 2, 3, 3))
y = conv_oracle.conv2d(x, w, np.ones(2), stride=2, padding=1, padding_mode="reflect")
z = conv_oracle.conv_transpose2d(y, w, stride=2, padding=1, output_padding=1)
assert z.shape == x.shape, z.shape
conv_oracle.skipped_input_pixels((6, 6), 3, stride=2, padding=1)
conv_oracle.bias_only_output_cells((3, 3), 3, stride=4)
loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print("LOADED:", loaded)
sys.exit(1 if loaded else 0)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "LOADED: []" in result.stdout


@pytest.mark.parametrize("path", ORACLE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_torch_import_in_oracle_sources(path):
    """No import statement (nor importlib / __import__ by name) of torch in the oracle's sources."""
    modules = [name for _, name in imported_modules(path)]
    assert not [m for m in modules if m == "torch" or m.startswith("torch.")], modules
    text = path.read_text()
    assert not re.search(r"""(import_module|__import__)\(\s*['"]torch""", text)


def test_oracle_file_list_is_complete():
    """The static check covers the files it means to (guards against a rename silently emptying it)."""
    names = {p.name for p in ORACLE_FILES}
    assert {"gather.py", "scatter.py", "functional.py", "arrays.py", "geometry.py", "validation.py"} <= names
    assert all(p.is_file() for p in ORACLE_FILES)


@pytest.mark.parametrize("module, other", [("gather", "scatter"), ("scatter", "gather")])
def test_gather_and_scatter_are_independent(module, other):
    """gather.py never imports scatter and scatter.py never imports gather: the two definitions are
    written separately, so a shared mistake cannot make them agree."""
    imports = imported_modules(PACKAGE / "oracle" / f"{module}.py")
    assert imports, "no imports found: the parser is not looking at the right file"
    offending = [name for _, name in imports if other in name.split(".")]
    assert not offending, offending


def test_import_scanner_detects_torch_and_relative_imports(tmp_path):
    """Self-check of the scanner the static tests rely on."""
    source = tmp_path / "m.py"
    source.write_text("import numpy as np\nimport torch.nn as nn\nfrom torch import Tensor\n"
                      "from .scatter import scatter\nfrom . import gather\n")
    names = [name for _, name in imported_modules(source)]
    assert "torch.nn" in names and "torch" in names and "scatter" in names and "gather" in names
