"""Every third-party import is declared in pyproject.toml, and every declaration is imported.

Run by ``make lint``: ``python scripts/check_dependencies.py``. The package (``tutka/``) may import
only the runtime ``dependencies``; the tests and scripts may also import the ``dev`` extra. The
benchmarks (``tutka/bench*.py``) may import the ``bench`` extra too, which need not be installed
(they say so when it is not). An
import name is mapped to its distribution with the installed metadata
(:func:`importlib.metadata.packages_distributions`), so run it in the project's virtualenv. Imports
are found statically (``ast``), including those inside functions; imports guarded by
``TYPE_CHECKING`` count too, as they do for mypy.

Exit status 0 when all is declared, 1 otherwise (with one line per problem).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "tutka"
#: Declared dev tools that are run, not imported.
TOOLS = {"mypy", "ruff", "import-linter", "pre-commit", "pytest", "pytest-xdist"}


def normalise(name: str) -> str:
    """The canonical form of a distribution name (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    """``"scikit-learn>=1.4,<2"`` → ``"scikit-learn"``."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    if match is None:
        raise ValueError(f"cannot read a name from requirement {spec!r}")
    return normalise(match.group(1))


def imports(paths: Iterable[Path]) -> dict[str, set[Path]]:
    """Top-level module names imported by absolute imports in ``paths`` → the files."""
    found: dict[str, set[Path]] = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(path)
    return found


def python_files(*folders: str) -> list[Path]:
    """Every ``.py`` file under the given folders of the repository."""
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def check() -> list[str]:
    """The problems found, one line each (empty: all declared)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {requirement_name(r) for r in project["dependencies"]}
    dev = {requirement_name(r) for r in project["optional-dependencies"]["dev"]}
    bench = {requirement_name(r) for r in project["optional-dependencies"]["bench"]}
    distributions = {
        name: {normalise(d) for d in dists} for name, dists in packages_distributions().items()
    }
    local = {PACKAGE, "tests", "scripts"}
    stdlib = set(sys.stdlib_module_names)
    problems: list[str] = []
    used: set[str] = set()
    benchmarks = sorted((ROOT / PACKAGE).glob("bench*.py"))
    package = [p for p in python_files(PACKAGE) if p not in benchmarks]
    for paths, allowed, what in (
        (package, runtime, "project.dependencies"),
        (benchmarks, runtime | bench, "project.dependencies or the bench extra"),
        (python_files("tests", "scripts"), runtime | dev, "project.dependencies or the dev extra"),
    ):
        for module, files in sorted(imports(paths).items()):
            if module in stdlib or module in local or module == "__future__":
                continue
            dists = distributions.get(module)
            where = ", ".join(str(f.relative_to(ROOT)) for f in sorted(files)[:3])
            if not dists and module in bench:
                used.add(module)  # an optional benchmark dependency, not installed here
                continue
            if not dists:
                problems.append(f"{module}: imported ({where}) but not installed")
                continue
            used |= dists
            if not dists & allowed:
                problems.append(
                    f"{module}: imported ({where}) but its distribution "
                    f"({', '.join(sorted(dists))}) is not in {what}"
                )
    for name in sorted((runtime | dev | bench) - used - TOOLS):
        problems.append(f"{name}: declared in pyproject.toml but imported nowhere")
    return problems


def main() -> int:
    """Print the problems; 1 if there are any."""
    problems = check()
    for line in problems:
        print(f"dependencies: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
