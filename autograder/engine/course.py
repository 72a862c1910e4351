"""The instructor's nbgrader course: where ``course grade`` finds submissions and writes what nbgrader reads.

A *course root* is a folder holding ``nbgrader_config.py`` (the current directory, or ``--course DIR``). Its
configuration is loaded with traitlets exactly as nbgrader loads it, and :class:`Course` holds what the engine
needs from it: the gradebook URL (``CourseDirectory.db_url``, by default ``sqlite:///<root>/gradebook.db``),
the course id and the ``source``/``submitted``/``autograded``/``feedback`` folders.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

CONFIG = "nbgrader_config.py"


class CourseError(ValueError):
    """The course folder or its configuration cannot be used (a usage/configuration error, exit 2)."""


@dataclass(frozen=True)
class Course:
    """An nbgrader course folder and the settings of its ``nbgrader_config.py``."""

    root: Path
    config_file: Path | None
    db_url: str
    course_id: str
    source_directory: str = "source"
    submitted_directory: str = "submitted"
    autograded_directory: str = "autograded"
    feedback_directory: str = "feedback"

    def folder(self, step: str) -> Path:
        """``<root>/<step directory>`` (an absolute setting is used as it is)."""
        return self.root / getattr(self, f"{step}_directory")

    @property
    def submitted(self) -> Path:
        return self.folder("submitted")


def is_course(folder: Path) -> bool:
    """Whether ``folder`` is an nbgrader course root (holds ``nbgrader_config.py``)."""
    return (Path(folder) / CONFIG).is_file()


def course_of(path: Path) -> Path | None:
    """The course root that ``path`` is, or whose ``submitted`` folder it is; else ``None``."""
    path = Path(path).resolve()
    if path.is_dir() and is_course(path):
        return path
    if path.name == "submitted" and is_course(path.parent):
        return path.parent
    return None


def load_course(root: Path, db_url: str | None = None, course_id: str | None = None) -> Course:
    """Read ``root/nbgrader_config.py`` with traitlets (as nbgrader does) into a :class:`Course`.

    ``db_url`` and ``course_id`` override the configuration (``--db-url``, ``--course-id``).
    """
    from traitlets.config import Config
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    root = Path(root).resolve()
    if not root.is_dir():
        raise CourseError(f"{root} is not a folder; give --course the folder holding {CONFIG}")
    config_file = root / CONFIG
    config = Config()
    if config_file.is_file():
        try:
            loader = PyFileConfigLoader(CONFIG, str(root))
            config.merge(loader.load_config())
        except ConfigFileNotFound:  # pragma: no cover - raced with a deletion
            pass
        except Exception as exc:  # a broken config is the instructor's to fix: one line, no traceback
            first = (str(exc).splitlines() or [""])[0][:200]
            raise CourseError(f"{config_file} cannot be loaded ({type(exc).__name__}: {first}); fix it or "
                              "run nbgrader once to see the full error") from None
    settings = config.get("CourseDirectory", {})
    configured_root = settings.get("root")
    course_root = Path(configured_root).resolve() if configured_root else root

    def text(name: str, default: str) -> str:
        value = settings.get(name)
        return str(value) if isinstance(value, str) and value else default

    url = db_url or text("db_url", "sqlite:///" + os.path.abspath(course_root / "gradebook.db"))
    return Course(root=course_root, config_file=config_file if config_file.is_file() else None, db_url=url,
                  course_id=course_id or text("course_id", "") or "default_course",
                  source_directory=text("source_directory", "source"),
                  submitted_directory=text("submitted_directory", "submitted"),
                  autograded_directory=text("autograded_directory", "autograded"),
                  feedback_directory=text("feedback_directory", "feedback"))


def known_assignments(course: Course | None, repo: Path) -> list[str]:
    """Assignments that could be graded: a source folder with notebooks and a hidden suite."""
    sources = [repo / "solutions"]
    if course is not None:
        sources.insert(0, course.folder("source"))
    names = set()
    for folder in sources:
        if folder.is_dir():
            names |= {d.name for d in folder.iterdir() if d.is_dir() and any(d.glob("*.ipynb"))}
    return sorted(n for n in names if (repo / "autograder" / n).is_dir() and re.fullmatch(r"[\w.-]+", n))
