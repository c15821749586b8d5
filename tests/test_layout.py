"""The package layout holds: the recipe imports only itself and the evaluation library, packages depend on each
other without cycles, and the installed project's ``recipe`` (not TransferQueue's) is what any process imports."""

import ast
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from tests.helpers import REPO

PACKAGES = ("recipe", "cpu", "lab", "offline", "sweep", "eval", "smoke", "data_prep", "peers")
# What the recipe may use of the project, as verl's recipes use verl.utils.reward_score: the grader and pass@k.
RECIPE_MAY_IMPORT = ("recipe", "eval.grader", "eval.metrics")


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported anywhere in ``path`` (functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def project_imports() -> dict[str, set[str]]:
    """package -> the project modules its files import."""
    found = defaultdict(set)
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            found[package] |= {m for m in imported_modules(path) if m.split(".")[0] in PACKAGES}
    return found


def test_the_recipe_imports_only_itself_and_the_evaluation_library():
    outside = sorted(m for m in project_imports()["recipe"] if not m.startswith(RECIPE_MAY_IMPORT))
    assert not outside, f"recipe/ imports {outside}: move that code out, or into the recipe"


def test_packages_depend_on_each_other_without_cycles():
    edges = {pkg: {m.split(".")[0] for m in mods} - {pkg} for pkg, mods in project_imports().items()}
    # The recipe's use of the evaluation library (grader, pass@k) is the one allowed edge into eval's library
    # modules; eval's library must not import back.
    assert "recipe" not in edges.get("eval", set()), "eval/ (the library) imports the recipe"
    edges["recipe"] = edges.get("recipe", set()) - {"eval"}
    visiting, done = set(), set()

    def visit(node, path):
        assert node not in visiting, f"import cycle: {' -> '.join([*path, node])}"
        if node in done:
            return
        visiting.add(node)
        for nxt in sorted(edges.get(node, ())):
            visit(nxt, [*path, node])
        visiting.discard(node)
        done.add(node)

    for package in PACKAGES:
        visit(package, [])


def test_no_code_builds_a_pythonpath():
    sites = [
        str(p.relative_to(REPO))
        for pkg in (*PACKAGES, "tools", "scripts", "tests")
        for p in (REPO / pkg).rglob("*")
        if p.suffix in (".py", ".sh") and p != Path(__file__) and "PYTHONPATH" in p.read_text(encoding="utf-8")
    ]
    assert not sites, f"PYTHONPATH assembled in {sites}: the installed project (pyproject.toml) is on sys.path"


def test_any_process_of_the_venv_imports_this_repositorys_recipe(tmp_path):
    """TransferQueue installs a namespace directory named ``recipe``; the editable install's .pth puts this
    repository on sys.path, and a regular package wins over a namespace portion wherever it is on the path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = "import recipe, recipe.sept.losses, hydra_plugins.sept_searchpath as p; print(recipe.__file__, p.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    recipe_file, plugin_file = out.stdout.split()
    assert Path(recipe_file) == REPO / "recipe" / "__init__.py"
    assert Path(plugin_file).is_relative_to(REPO)
