"""The package's import rule: subpackages by pipeline stage, arrows point one way, no circles.

Layers, lowest first (a module imports only from its own layer or a lower one; see the package docstring):
``_validation``/``_log``/``_compat`` < ``dynamics`` < ``representations`` < ``data`` < ``models`` < ``inference``
< ``plotting`` < ``cli``/``demos``.  Every import counts, also one inside a function: a lazy import that closes a
circle is a circle.  The old flat paths (``rsa_lineardyn.fitting``, ...) are for users only; the package never
imports them.
"""

import ast
from pathlib import Path

import pytest

import rsa_lineardyn
from rsa_lineardyn._compat import OLD_PATHS

PKG = Path(rsa_lineardyn.__file__).parent
LAYERS = ["_infra", "dynamics", "representations", "data", "models", "inference", "plotting", "cli"]
INFRA = {"rsa_lineardyn", "rsa_lineardyn._validation", "rsa_lineardyn._log", "rsa_lineardyn._compat"}


def _modules():
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.parts[0] == "_bundled":
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(["rsa_lineardyn", *parts])] = path
    return out


MODULES = _modules()


def _layer(module):
    if module in INFRA:
        return 0
    top = module.split(".")[1]
    if top == "demos":
        top = "cli"  # the demo scripts sit with the command line that runs them
    if top not in LAYERS:
        raise AssertionError(f"{module}: not in a layer; put it in a subpackage (rsa_lineardyn/__init__.py docstring)")
    return LAYERS.index(top)


def _imports(module, path):
    """Every module of the package that ``module`` imports (top level or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - node.level + 1]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("rsa_lineardyn"):
                continue
            for alias in node.names:  # `from . import x`: x may be a module
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES or sub.split(".")[1] in OLD_PATHS else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("rsa_lineardyn")}
    return {f for f in found if f != module}


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def test_every_module_is_in_a_layer():
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    if module == "rsa_lineardyn":  # the package's public-name table imports every layer lazily, on access
        return
    for target in GRAPH[module]:
        assert target in MODULES, f"{module} imports {target}, not a module of the package (an old path?)"
        assert _layer(target) <= _layer(module), (
            f"{module} (layer {LAYERS[_layer(module)]}) imports {target} (layer {LAYERS[_layer(target)]}): "
            "imports must point to the same or a lower stage")


def test_no_import_circles():
    graph = {m: {t for t in ts if t in MODULES and t != "rsa_lineardyn"} for m, ts in GRAPH.items()
             if m != "rsa_lineardyn"}
    # a subpackage's __init__ importing its own modules is not a circle with them
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == [], f"import circles: {cycles}"


def test_the_rule_is_written_in_the_package_docstring():
    doc = rsa_lineardyn.__doc__
    assert "dynamics" in doc and "inference" in doc and "lower" in doc



# ---------------------------------------------------------------------------- units a reader can hold
MAX_FUNCTION_LINES, MAX_CLASS_LINES = 80, 300


def _code_lines(node):
    """Lines of a function or class without its docstrings (a class: also its methods' docstrings)."""
    n = node.end_lineno - node.lineno + 1
    for sub in ast.walk(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and sub.body:
            first = sub.body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) and isinstance(
                    first.value.value, str):
                if sub is node or isinstance(node, ast.ClassDef):
                    n -= first.end_lineno - first.lineno + 1
    return n


def test_units_a_reader_can_hold():
    too_big = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node) > MAX_FUNCTION_LINES:
                too_big.append(f"{module}.{node.name}: function of {_code_lines(node)} lines")
            elif isinstance(node, ast.ClassDef) and _code_lines(node) > MAX_CLASS_LINES:
                too_big.append(f"{module}.{node.name}: class of {_code_lines(node)} lines")
    assert too_big == [], "split these (no function over ~80 lines, no class over ~300, docstrings not counted): " + (
        "; ".join(too_big))
