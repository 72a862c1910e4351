"""The course's assignments, found in the repository: each one a declarative unit of a few files.

An assignment ``<a>`` is there when both of its hand-written parts are:

``solutions/<a>/<a>.ipynb``
    the nbgrader source notebook (solutions, grade cells with points, hidden regions calling
    :func:`autograder.harness.hidden_score`): the truth about grade cells and points;
``autograder/<a>/``
    the hidden suite (``test_*.py`` marked ``@pytest.mark.part("<grade id>")``).

Next to them, in ``autograder/fixtures/<a>/``: the submission fixtures ``*.ipynb``, their expected score per
grade cell (``expected.json``, written by hand) and, for fixtures made by the shared builder
(:mod:`autograder.fixture_builder`), ``fixtures.json`` (the bugs and written answers). Generated from the
source notebook: the release ``assignments/<a>/<a>.ipynb`` and the students' visible checks
``src/mlcourse/checks/<a>.py``. ``course new-assignment <a>`` (:mod:`autograder.scaffold`) writes a working
unit; ``tests/test_assignments.py`` holds every discovered assignment to the same contract.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

#: The repository this package lives in.
REPO = Path(__file__).resolve().parents[1]

#: An assignment id: a lower-case Python identifier (its suite is the package ``autograder.<id>``).
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def check_name(name: str) -> str:
    """``name`` when it can be an assignment id, else a :class:`ValueError` saying why.

    Parameters
    ----------
    name : str
        The proposed id, e.g. ``"hw3"``.

    Returns
    -------
    str
        ``name`` unchanged.
    """
    if not NAME.fullmatch(name or ""):
        raise ValueError(f"invalid assignment name {name!r}: use a lower-case letter followed by lower-case "
                         "letters, digits or _ (at most 40 characters), e.g. hw3")
    if name in {"engine", "similarity", "fixtures", "harness", "loader", "plain", "cli", "gradescope",
                "assignments", "scaffold", "fixture_builder", "visible"}:
        raise ValueError(f"invalid assignment name {name!r}: it is a module of the autograder package")
    return name


@dataclass(frozen=True)
class AssignmentFiles:
    """Where the parts of assignment ``name`` live under the repository ``root``."""

    name: str
    root: Path = REPO

    @property
    def source(self) -> Path:
        """The nbgrader source notebook ``solutions/<a>/<a>.ipynb``."""
        return self.root / "solutions" / self.name / f"{self.name}.ipynb"

    @property
    def release(self) -> Path:
        """The generated student notebook ``assignments/<a>/<a>.ipynb``."""
        return self.root / "assignments" / self.name / f"{self.name}.ipynb"

    @property
    def suite(self) -> Path:
        """The hidden suite's folder ``autograder/<a>/``."""
        return self.root / "autograder" / self.name

    @property
    def fixtures(self) -> Path:
        """The submission fixtures' folder ``autograder/fixtures/<a>/``."""
        return self.root / "autograder" / "fixtures" / self.name

    @property
    def checks(self) -> Path:
        """The generated visible checks ``src/mlcourse/checks/<a>.py``."""
        return self.root / "src" / "mlcourse" / "checks" / f"{self.name}.py"

    def fixture_names(self) -> list[str]:
        """The fixtures' names (file stems), sorted."""
        return sorted(p.stem for p in self.fixtures.glob("*.ipynb"))

    def expected(self) -> dict[str, dict[str, float]]:
        """``expected.json``: fixture name -> grade cell id -> expected score."""
        return json.loads((self.fixtures / "expected.json").read_text(encoding="utf-8"))


def is_assignment(root: Path, name: str) -> bool:
    """Whether ``root`` holds assignment ``name``: its source notebook and a hidden suite with tests."""
    files = AssignmentFiles(name, Path(root))
    return bool(NAME.fullmatch(name)) and files.source.is_file() and any(files.suite.glob("test_*.py"))


def assignment_names(root: Path = REPO) -> list[str]:
    """Every assignment of the repository ``root``, sorted (see the module's docstring for what counts).

    Parameters
    ----------
    root : Path
        The repository (default: the one holding this package).

    Returns
    -------
    list of str
    """
    solutions = Path(root) / "solutions"
    if not solutions.is_dir():
        return []
    return sorted(d.name for d in solutions.iterdir() if d.is_dir() and is_assignment(root, d.name))


def discover(root: Path = REPO) -> list[AssignmentFiles]:
    """:class:`AssignmentFiles` of every assignment of ``root`` (see :func:`assignment_names`)."""
    return [AssignmentFiles(name, Path(root)) for name in assignment_names(root)]
