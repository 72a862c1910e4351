"""Finding submissions and who they belong to: nbgrader's ``submitted/`` layout, a folder of notebooks, a
folder per student (a Gradescope export), or a zip of any of these.

Layouts recognised in a folder (or in a zip, after extraction):

* nbgrader: ``[submitted/]<student>/<assignment>/<notebook>.ipynb`` (+ ``timestamp.txt``);
* a folder of notebooks: ``<name>.ipynb``, one per student (single-notebook assignments only);
* one folder per student: ``<name>/**/<notebook>.ipynb``; with Gradescope's ``submission_metadata.yml`` next
  to the ``submission_XXXX`` folders, the submitters' names, SIDs and e-mails become ``Submission.metadata``.

Student ids
-----------
* **nbgrader's ids are never rewritten**: the folder names under ``submitted/`` are what nbgrader accepted.
  Only names nbgrader cannot use in a path (empty, ``.``, ``..``, containing ``/`` or NUL, or bytes that are
  not UTF-8, which no report could be written with) are refused.
* **Other layouts** derive an id from the file or folder name (a Gradescope export: from the submitter's SID,
  else the local part of their e-mail, when that is unique in the export, else the folder name):

  - a *safe* name is kept as it is: NFC-normalised Unicode letters, digits, ``_``, ``-`` and ``.``, not
    starting with ``.`` or ``-``, at most 64 characters (``müller`` stays ``müller``);
  - any other name gets ``<slug>~<hash>``: its safe characters, then ``~`` and the first 8 hex digits of the
    SHA-256 of the original name (longer if needed). A safe name never contains ``~``, so a derived id can
    never equal another submission's plain id, in this run or a later one (``alice!.ipynb`` next to
    ``alice.ipynb`` becomes ``alice~…``; ``alice`` keeps its id and its grade). Safe names are placed first;
  - names that differ only by case or Unicode normalisation (NFC/NFKC), e.g. ``Alice`` and ``alice``, cannot
    be told apart: all of them are refused, with a reason naming each.

  A refused submission still gets an id (its nbgrader id, else a derived one) so that it appears in the
  results as failed, with its reason.

What is refused (each as a ``Submission`` with a problem and no notebooks when the entry is a submission
itself, else as a problem of the submission it belongs to, else as a batch warning in
``discover(...).warnings``); nothing is skipped silently except ``__MACOSX`` and ``.ipynb_checkpoints``
folders:

* symbolic links, FIFOs, devices and sockets, at any depth (links are never followed or resolved);
* names starting with ``.`` (hidden files), reported as ignored;
* in a zip, members with an absolute path, ``..``, a drive letter or ``:``, links and devices, members larger
  than ``max_member_mb`` or than they claim, and unreadable members: each is skipped and reported, the rest
  is extracted and graded. Only too many members or too large a total refuse the whole archive.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.engine.notebooks import Assignment

try:  # PyYAML reads Gradescope's metadata; a small tolerant parser is the fallback
    import yaml
except ImportError:  # pragma: no cover - exercised by monkeypatching
    yaml = None

MAX_MEMBERS = 20_000  # members of a zip / entries looked at below one submission folder
MAX_MEMBER_MB = 1024  # largest single file extracted from a zip
MAX_DEPTH = 32  # folder depth looked at below a submission folder
MAX_METADATA_BYTES = 16 << 20  # largest submission_metadata.yml read
METADATA_FILE = "submission_metadata.yml"
SKIP_DIRS = ("__MACOSX", ".ipynb_checkpoints")
LINK = "is a symbolic link; links are not followed — submit the file itself"
HIDDEN = "was ignored: its name starts with '.' (a hidden file); rename it if it is part of the submission"
_SAFE = re.compile(r"\w[\w.-]*")
_UNSAFE_RUN = re.compile(r"[^\w.-]+")


@dataclass
class Submission:
    """One student's submission as found on disk (nothing parsed yet).

    Attributes
    ----------
    student : str
        The student id (see the module docstring for how it is chosen).
    notebooks : dict
        Notebook stem -> file, or ``None`` when missing or refused.
    problems : list of str
        One-line reasons (missing notebooks, refused entries); a submission with no notebooks fails with them.
    timestamp : str or None
        nbgrader's ``timestamp.txt`` or Gradescope's ``:created_at:``.
    origin : str
        The file or folder on disk.
    display_name : str
        The original file or folder name, as given.
    metadata : dict
        Gradescope's metadata for this submission, else empty: ``submitters`` (a list of ``{"name", "sid",
        "email"}``), the same three keys joined with ``"; "`` across submitters, ``created_at`` and the
        export's other plain fields (``score``, ``status``, ...).
    """

    student: str
    notebooks: dict[str, Path | None]
    problems: list[str] = field(default_factory=list)
    timestamp: str | None = None
    origin: str = ""
    display_name: str = ""
    metadata: dict = field(default_factory=dict)


class Submissions(list):
    """What :func:`discover` returns: the submissions, sorted by student id, plus batch-level ``warnings``
    (ignored files that belong to no submission, an unreadable ``submission_metadata.yml``, …)."""

    def __init__(self, items: list[Submission] = (), warnings: list[str] | None = None) -> None:
        super().__init__(items)
        self.warnings: list[str] = list(warnings or [])


@dataclass(frozen=True)
class Skipped:
    """A zip member that was not extracted: where it was going (its full path when ``whole``, else the safe
    leading part of an unsafe path) and why."""

    parts: tuple[str, ...]
    reason: str
    whole: bool


@dataclass
class _Candidate:
    sub: Submission
    name: str  # what the id is derived from
    rel: tuple[str, ...]  # path below the discovery root
    fixed: bool = False  # an nbgrader id: kept as it is


# ---------------------------------------------------------------------------------------------- ids
def _text(name: str) -> str:
    """``name`` as writable text: undecodable bytes of a file name (lone surrogates) shown as ``\\xNN``."""
    if not any(0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        return name
    return "".join(f"\\x{ord(ch) - 0xDC00:02x}" if 0xDC80 <= ord(ch) <= 0xDCFF
                   else "\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in name)


def _fold(name: str) -> str:
    """The key under which two names are the same student: NFKC, case-folded."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def is_safe_id(name: str) -> bool:
    """Whether ``name`` is used as a student id as it is (see the module docstring)."""
    return (0 < len(name) <= 64 and unicodedata.normalize("NFC", name) == name
            and _SAFE.fullmatch(name) is not None and name[0] not in ".-")


def nbgrader_id_problem(name: str) -> str | None:
    """Why nbgrader cannot use ``name`` as a student id in its paths, or ``None``."""
    if name in ("", ".", ".."):
        return f"student folder {name!r} cannot be a student id"
    if "/" in name or "\x00" in name:
        return f"student folder {name!r} cannot be a student id (it contains '/' or NUL)"
    if _text(name) != name:
        return f"student folder {_text(name)!r} cannot be a student id (its name is not valid UTF-8)"
    return None


def derived_id(name: str, taken: set[str]) -> str:
    """``<slug>~<hash>`` for an unsafe ``name``, whose folded form is not in ``taken`` (folded ids)."""
    slug = _UNSAFE_RUN.sub("-", unicodedata.normalize("NFKC", name)).strip("-.")[:40].strip("-.")
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
    for width in (8, 12, 16, 64):
        candidate = f"{slug or 'student'}~{digest[:width]}"
        if _fold(candidate) not in taken:
            return candidate
    count = 2
    while _fold(f"{candidate}-{count}") in taken:
        count += 1
    return f"{candidate}-{count}"


def _refuse(sub: Submission, reason: str, stems: list[str]) -> None:
    sub.notebooks = {stem: None for stem in stems}
    sub.problems.insert(0, reason)


def _assign_ids(candidates: list[_Candidate], stems: list[str]) -> None:
    """Give every candidate its id: fixed ids first, then safe names, then derived ids."""
    taken = {_fold(c.name) for c in candidates if c.fixed}
    for cand in candidates:
        if cand.fixed:
            cand.sub.student = cand.name
    groups: dict[str, list[_Candidate]] = {}
    for cand in candidates:
        if not cand.fixed:
            groups.setdefault(_fold(cand.name), []).append(cand)
    derive = []
    for members in groups.values():
        if len(members) > 1:
            names = " and ".join(repr(c.sub.display_name or c.name) for c in members)
            for cand in members:
                _refuse(cand.sub, f"{names} differ only by upper/lower case or Unicode form, so they cannot "
                                  "be told apart as student ids; all were refused — rename them", stems)
            derive += members
        elif is_safe_id(members[0].name) and _fold(members[0].name) not in taken:
            members[0].sub.student = members[0].name
            taken.add(_fold(members[0].name))
        else:
            derive += members
    for cand in sorted(derive, key=lambda c: (c.name, c.rel)):
        cand.sub.student = derived_id(cand.name, taken)
        taken.add(_fold(cand.sub.student))


# ------------------------------------------------------------------------------------------- on disk
def refusal(mode: int) -> str | None:
    """Why an entry of this ``lstat`` mode is refused (a link, FIFO, device, socket), or ``None``."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISLNK(mode):
        return LINK
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    return "is not a regular file or folder"


def _lmode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None


def _listing(folder: Path) -> list[tuple[str, int]]:
    """``(name, lstat mode)`` of a folder's entries, sorted by name; links are not followed."""
    out = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    out.append((entry.name, entry.stat(follow_symlinks=False).st_mode))
                except OSError:
                    continue
    except OSError:
        return []
    return sorted(out)


def _silent(name: str, mode: int) -> bool:
    """Entries skipped without a word: macOS resource forks and Jupyter checkpoints folders."""
    return name in SKIP_DIRS and stat.S_ISDIR(mode)


def _is_dir(path: Path) -> bool:
    mode = _lmode(path)
    return mode is not None and stat.S_ISDIR(mode)


def _label(rel: tuple[str, ...]) -> str:
    return _text("/".join(rel)) or "."


def _scan(folder: Path, rel: tuple[str, ...], notebooks_below: bool) -> tuple[list[Path], list[str]]:
    """The regular ``.ipynb`` files in ``folder`` (at any depth if ``notebooks_below``, else at its top) and
    one problem per refused or hidden entry at any depth."""
    notebooks, problems, seen = [], [], 0
    stack = [(folder, rel, 0)]
    while stack:
        here, where, depth = stack.pop()
        subfolders = []
        for name, mode in _listing(here):
            seen += 1
            if seen > MAX_MEMBERS:
                problems.append(f"{_label(rel)} holds more than {MAX_MEMBERS} files; the rest was not "
                                "looked at")
                return sorted(notebooks), problems
            label = _label((*where, name))
            if _silent(name, mode):
                continue
            why = refusal(mode)
            if why:
                problems.append(f"{label} {why}")
            elif name.startswith("."):
                problems.append(f"{label} {HIDDEN}")
            elif stat.S_ISDIR(mode):
                subfolders.append((here / name, (*where, name), depth + 1))
            elif name.endswith(".ipynb") and (notebooks_below or depth == 0):
                notebooks.append(here / name)
        for sub in reversed(subfolders):
            if sub[2] > MAX_DEPTH:
                problems.append(f"{_label(sub[1])} is nested too deeply; it was not looked at")
            else:
                stack.append(sub)
    return sorted(notebooks), problems


def _match(found: list[Path], assignment: Assignment, where: str) -> tuple[dict[str, Path | None], list[str]]:
    """Map found notebooks onto the assignment's notebook names; report what is missing."""
    if len(assignment.notebooks) == 1 and len(found) == 1:
        return {assignment.notebooks[0]: found[0]}, []
    by_stem = {p.stem: p for p in found}
    notebooks: dict[str, Path | None] = {}
    problems = []
    for stem in assignment.notebooks:
        notebooks[stem] = by_stem.get(stem)
        if notebooks[stem] is None:
            others = sorted(p.name for p in found if p.stem not in assignment.notebooks)
            hint = f" (found: {', '.join(others[:3])})" if others else ""
            problems.append(f"notebook {stem}.ipynb is missing from {where}{hint}")
    return notebooks, problems


def read_submission_file(path: Path, max_mb: int) -> bytes:
    """The bytes of a submitted file, opened without following a link and only if it is a regular file
    (what :func:`discover` checked may have been replaced since).

    Raises
    ------
    ValueError
        With a one-line reason naming the file: a link, not a regular file, larger than ``max_mb`` MiB,
        unreadable.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        mode = _lmode(path)
        why = refusal(mode) if mode is not None else None
        raise ValueError(f"{path.name} {why or f'could not be read ({type(exc).__name__})'}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        why = refusal(info.st_mode) or (None if stat.S_ISREG(info.st_mode) else "is not a regular file")
        if why:
            raise ValueError(f"{path.name} {why}")
        if info.st_size > max_mb << 20:
            size = info.st_size / 2**20
            raise ValueError(f"{path.name} is {size:.0f} MiB, more than the {max_mb} MiB allowed")
        data = handle.read((max_mb << 20) + 1)
    if len(data) > max_mb << 20:
        raise ValueError(f"{path.name} is more than the {max_mb} MiB allowed")
    return data


# ------------------------------------------------------------------------------------------- layouts
def _has_assignment(folder: Path, assignment: Assignment) -> bool:
    mode = _lmode(folder / assignment.name)
    return mode is not None and (stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def _is_nbgrader_layout(path: Path, assignment: Assignment) -> bool:
    return any(stat.S_ISDIR(mode) and _has_assignment(path / name, assignment)
               for name, mode in _listing(path) if not name.startswith("."))


def _has_notebook_files(path: Path) -> bool:
    return any(name.endswith(".ipynb") and not stat.S_ISDIR(mode) and not name.startswith(".")
               for name, mode in _listing(path))


def _descend(root: Path, assignment: Assignment, warnings: list[str]) -> Path:
    """The folder that holds the submissions: below a course root's ``submitted/`` and single wrappers."""
    path = root
    while True:
        if _is_dir(path / "submitted"):
            path = path / "submitted"
            continue
        entries = [(n, m) for n, m in _listing(path) if not _silent(n, m)]
        visible = [(n, m) for n, m in entries if not n.startswith(".")]
        if len(visible) != 1 or not stat.S_ISDIR(visible[0][1]) or _is_nbgrader_layout(path, assignment):
            return path
        inner = path / visible[0][0]
        if _has_assignment(inner, assignment) or _has_notebook_files(inner):
            return path  # one student's folder, not a wrapper
        warnings += [f"{_label(_rel(path / n, root))} {HIDDEN}" for n, _ in entries if n.startswith(".")]
        path = inner


def _is_flat(path: Path) -> bool:
    """A folder of notebooks: it holds regular ``.ipynb`` files, or only ``.ipynb`` entries and no folders."""
    entries = [(n, m) for n, m in _listing(path) if not _silent(n, m)]
    if _has_notebook_files(path):
        return True
    return any(n.endswith(".ipynb") for n, m in entries if not stat.S_ISDIR(m)) \
        and not any(stat.S_ISDIR(m) for _, m in entries)


def _rel(path: Path, root: Path) -> tuple[str, ...]:
    return path.relative_to(root).parts


def _nbgrader(layout: Path, root: Path, assignment: Assignment, warnings: list[str]) -> list[_Candidate]:
    out = []
    for name, mode in _listing(layout):
        path, rel = layout / name, _rel(layout / name, root)
        if _silent(name, mode):
            continue
        if stat.S_ISREG(mode):
            warnings.append(f"{_label(rel)} was ignored: not a student folder")
            continue
        sub = Submission("", {}, origin=str(path), display_name=_text(name))
        cand = _Candidate(sub, name, rel, fixed=True)
        why = refusal(mode)
        if why:
            _refuse(sub, f"{_label(rel)} {why}", assignment.notebooks)
        elif name.startswith("."):
            _refuse(sub, f"{_label(rel)} was ignored: a hidden folder (name starts with '.'), which nbgrader "
                         "does not grade; rename it", assignment.notebooks)
        else:
            _nbgrader_student(sub, path, rel, assignment)
        problem = nbgrader_id_problem(name)
        if problem:
            cand.fixed = False
            _refuse(sub, problem, assignment.notebooks)
        out.append(cand)
    return out


def _nbgrader_student(sub: Submission, folder: Path, rel: tuple[str, ...], assignment: Assignment) -> None:
    inner, inner_rel = folder / assignment.name, (*rel, assignment.name)
    mode = _lmode(inner)
    if mode is None:
        _refuse(sub, f"no {assignment.name}/ folder was submitted", assignment.notebooks)
        return
    why = refusal(mode) or (None if stat.S_ISDIR(mode) else "is not a folder")
    if why:
        _refuse(sub, f"{_label(inner_rel)} {why}", assignment.notebooks)
        return
    found, problems = _scan(inner, inner_rel, notebooks_below=False)
    by_stem = {p.stem: p for p in found}
    sub.notebooks = {stem: by_stem.get(stem) for stem in assignment.notebooks}
    for stem, path in sub.notebooks.items():
        if path is None and not any(f"{stem}.ipynb" in p for p in problems):
            others = sorted(p.name for p in found if p.stem not in assignment.notebooks)
            hint = f" (found: {', '.join(others[:3])})" if others else ""
            problems.append(f"notebook {stem}.ipynb is missing{hint}")
    sub.problems += problems
    stamp = inner / "timestamp.txt"
    if _lmode(stamp) is not None:
        try:  # a link or FIFO here is already reported by _scan
            text = read_submission_file(stamp, 1)[:1000].decode("utf-8", "replace")
        except ValueError:
            return
        sub.timestamp = _text(text.strip()[:100]) or None


def _flat(layout: Path, root: Path, assignment: Assignment, warnings: list[str]) -> list[_Candidate]:
    if len(assignment.notebooks) != 1:
        raise ValueError("a folder of notebooks works for single-notebook assignments only; use "
                         "nbgrader's submitted/<student>/<assignment>/ layout")
    stem, out = assignment.notebooks[0], []
    for name, mode in _listing(layout):
        path, rel = layout / name, _rel(layout / name, root)
        if _silent(name, mode):
            continue
        if not name.endswith(".ipynb") or stat.S_ISDIR(mode):
            what = "a folder" if stat.S_ISDIR(mode) else "not a notebook"
            warnings.append(f"{_label(rel)} was ignored: {what} (each .ipynb file here is one student's)"
                            if not name.startswith(".") else f"{_label(rel)} {HIDDEN}")
            continue
        sub = Submission("", {stem: path}, origin=str(path), display_name=_text(name))
        why = refusal(mode)
        if why:
            _refuse(sub, f"{_label(rel)} {why}", assignment.notebooks)
        elif name.startswith("."):
            _refuse(sub, f"{_label(rel)} {HIDDEN}", assignment.notebooks)
        out.append(_Candidate(sub, name[:-len(".ipynb")], rel))
    return out


def _folders(layout: Path, root: Path, assignment: Assignment, warnings: list[str]) -> list[_Candidate]:
    out = []
    for name, mode in _listing(layout):
        path, rel = layout / name, _rel(layout / name, root)
        if _silent(name, mode) or name == METADATA_FILE:  # read (or refused) by read_gradescope_metadata
            continue
        if stat.S_ISREG(mode):
            warnings.append(f"{_label(rel)} {HIDDEN}" if name.startswith(".")
                            else f"{_label(rel)} was ignored: not a student folder")
            continue
        sub = Submission("", {}, origin=str(path), display_name=_text(name))
        why = refusal(mode)
        if why:
            _refuse(sub, f"{_label(rel)} {why}", assignment.notebooks)
        elif name.startswith("."):
            _refuse(sub, f"{_label(rel)} {HIDDEN}", assignment.notebooks)
        else:
            found, problems = _scan(path, rel, notebooks_below=True)
            sub.notebooks, missing = _match(found, assignment, name)
            sub.problems = problems + (missing if found else ["no notebook was submitted"])
            if not found:
                sub.notebooks = {stem: None for stem in assignment.notebooks}
        out.append(_Candidate(sub, name, rel))
    return out


# ------------------------------------------------------------------------------------------- gradescope
def read_gradescope_metadata(path: Path) -> tuple[dict[str, dict], str | None]:
    """Gradescope's ``submission_metadata.yml``: submission folder -> ``{"submitters": [{"name", "sid",
    "email"}], "created_at", ...}``, plus a one-line warning if the file could not be read (never raises)."""
    try:
        text = read_submission_file(path, MAX_METADATA_BYTES >> 20).decode("utf-8", "replace")
    except ValueError as exc:
        return {}, f"{exc}; submissions keep their folder names"
    try:
        raw = _load_yaml(text)
    except Exception as exc:  # any parser failure: report, keep the folder names
        first = (str(exc).splitlines() or [""])[0][:120]
        return {}, f"{path.name} could not be parsed ({type(exc).__name__}: {first}); submissions keep " \
                   "their folder names"
    if not isinstance(raw, dict):
        return {}, f"{path.name} does not hold a mapping of submissions; submissions keep their folder names"
    return {str(key): _gradescope_entry(value) for key, value in raw.items() if isinstance(value, dict)}, None


def _load_yaml(text: str) -> object:
    if yaml is not None:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return _tolerant_yaml(text)


def _scalar(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float, datetime)):
        return _text(str(value).strip()[:300])
    return None


def _gradescope_entry(value: dict) -> dict:
    entry: dict = {}
    for key, item in value.items():
        name = str(key).strip(":")
        if name == "submitters" and isinstance(item, list):
            entry["submitters"] = [{field_: _scalar(person.get(f":{field_}", person.get(field_))) or ""
                                    for field_ in ("name", "sid", "email")}
                                   for person in item[:100] if isinstance(person, dict)]
        elif name == "created_at":
            entry["created_at"] = _timestamp(item)
        elif _scalar(item) is not None:
            entry[name] = _scalar(item)
    people = entry.setdefault("submitters", [])
    for key in ("name", "sid", "email"):  # flat copies; a group's joined with "; "
        entry[key] = "; ".join(p[key] for p in people if p[key])
    return entry


_STAMP = re.compile(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?\s*(Z|[+-]\d\d:?\d\d)?")


def _timestamp(value: object) -> str | None:
    """An nbgrader-readable timestamp from Gradescope's ``:created_at:``, or ``None``."""
    if isinstance(value, datetime):
        return value.isoformat(" ")
    match = _STAMP.fullmatch(str(value).strip()) if isinstance(value, str) else None
    if not match:
        return None
    day, time, fraction, zone = match.groups()
    zone = "" if not zone else "+00:00" if zone == "Z" else f"{zone[:3]}:{zone[-2:]}"
    return f"{day} {time}{(fraction or '')[:7]}{zone}"


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _tolerant_yaml(text: str) -> dict:
    """Just enough YAML for Gradescope's metadata (``submission_X:`` / ``:submitters:`` / ``- :name: …``),
    when PyYAML is not installed; unknown lines are ignored."""
    out: dict = {}
    current: dict | None = None
    person: dict | None = None
    list_indent = -1
    for line in text.splitlines():
        body = line.strip()
        if not body or body.startswith("#") or body in ("---", "..."):
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            current, person = out.setdefault(_unquote(body.rstrip(":")), {}), None
            continue
        if current is None:
            continue
        item = body.startswith("- ")
        if item:
            person, body = {}, body[2:].strip()
            current.setdefault(":submitters", []).append(person)
        key, _, value = body.partition(": ") if ": " in body else (body.rstrip(":"), "", "")
        if key == ":submitters":
            list_indent, person = indent, None
        elif person is not None and (item or indent > list_indent):
            person[key] = _unquote(value)
        else:
            current[key], person = _unquote(value), None
    return out


def _apply_gradescope(candidates: list[_Candidate], metadata: dict[str, dict]) -> None:
    """Metadata, timestamps and requested ids (SID, else e-mail local part, else folder) of an export."""
    options: list[list[str]] = []
    for cand in candidates:
        entry = metadata.get(cand.sub.display_name, {})
        cand.sub.metadata = entry
        if entry.get("created_at") and cand.sub.timestamp is None:
            cand.sub.timestamp = entry["created_at"]
        people = entry.get("submitters", [])
        choices = []
        if len(people) == 1:
            email = people[0]["email"]
            choices = [people[0]["sid"], email.split("@")[0] if "@" in email else ""]
        options.append([c for c in choices if c] + [cand.name])
    level = [0] * len(candidates)
    while True:
        keys: dict[str, list[int]] = {}
        for i, opts in enumerate(options):
            keys.setdefault(_fold(opts[level[i]]), []).append(i)
        moved = False
        for members in keys.values():
            for i in members if len(members) > 1 else ():
                if level[i] < len(options[i]) - 1:
                    level[i] += 1
                    moved = True
        if not moved:
            break
    for i, cand in enumerate(candidates):
        cand.name = options[i][level[i]]


# ------------------------------------------------------------------------------------------- zips
def _plan_member(info: zipfile.ZipInfo, max_member_mb: int) -> tuple[tuple[str, ...], str | None, bool]:
    """A member's path parts, why it is skipped (or ``None``), and whether the parts are its full path."""
    raw = info.filename.replace("\\", "/")
    parts = tuple(p for p in raw.split("/") if p not in ("", "."))
    shown = repr(info.filename)
    if raw.startswith("/") or re.match(r"[A-Za-z]:", raw):
        return (), f"zip member {shown} has an unsafe path (absolute); it was skipped", False
    for i, part in enumerate(parts):
        if part == ".." or ":" in part or "\x00" in part:
            return parts[:i], f"zip member {shown} has an unsafe path ({part!r} in it); it was skipped", False
    mode = (info.external_attr >> 16) & 0o170000
    why = refusal(mode) if mode else None
    if why:
        return parts, f"zip member {shown} {why}; it was skipped", True
    if not info.is_dir() and info.file_size > max_member_mb << 20:
        size = info.file_size / 2**20
        return parts, (f"zip member {shown} is {size:.0f} MiB, more than the {max_member_mb} MiB allowed per "
                       "file; it was skipped"), True
    return parts, None, True


def safe_extract(archive: Path, target: Path, max_total_mb: int, strict: bool = True,
                 max_member_mb: int = MAX_MEMBER_MB) -> list[Skipped]:
    """Extract ``archive`` into ``target``, never writing outside it and never creating links.

    Parameters
    ----------
    archive, target : Path
        The zip file and the (new, emptied) folder to extract into.
    max_total_mb : int
        Largest total of the members' sizes; more refuses the whole archive (``ValueError``), as do more
        than ``MAX_MEMBERS`` members.
    strict : bool
        Raise ``ValueError`` for the first hostile member instead of skipping it.
    max_member_mb : int
        Largest single member.

    Returns
    -------
    list of Skipped
        The members that were not extracted, with one-line reasons.
    """
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{archive.name} is not a readable zip file ({exc})") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValueError(f"{archive.name} holds {len(members)} files, more than {MAX_MEMBERS}")
        plan, skipped, names = [], [], set()
        for info in members:
            parts, why, whole = _plan_member(info, max_member_mb)
            if parts[:1] == ("__MACOSX",) or (not parts and why is None):
                continue
            if why is None and parts in names:
                why = f"zip member {info.filename!r} appears twice; only its first copy was used"
            if why:
                skipped.append(Skipped(parts, why, whole))
                if strict:
                    raise ValueError(f"{archive.name}: {why}")
                continue
            names.add(parts)
            plan.append((info, parts))
        total = sum(info.file_size for info, _ in plan if not info.is_dir())
        if total > max_total_mb << 20:
            raise ValueError(f"{archive.name} expands to more than {max_total_mb} MiB")
        for info, parts in plan:
            why = _extract_member(zf, info, target.joinpath(*parts))
            if why:
                skipped.append(Skipped(parts, f"zip member {info.filename!r} {why}; it was skipped", True))
                if strict:
                    raise ValueError(f"{archive.name}: {skipped[-1].reason}")
    return skipped


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> str | None:
    """Write one planned member (a folder or a regular file); why it failed, or ``None``."""
    try:
        if info.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            return None
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"could not be extracted ({type(exc).__name__})"
    try:
        out = open(dest, "xb")  # never an existing file, never through a link
    except OSError as exc:
        return f"could not be extracted ({type(exc).__name__})"
    try:
        with out, zf.open(info) as src:
            written = 0
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > info.file_size:
                    raise _TooLarge
                out.write(chunk)
    except _TooLarge:
        dest.unlink(missing_ok=True)
        return "is larger than it claims"
    except (OSError, zipfile.BadZipFile, RuntimeError, EOFError, NotImplementedError, ValueError) as exc:
        dest.unlink(missing_ok=True)  # ours: created above
        return f"could not be extracted ({type(exc).__name__})"
    return None


class _TooLarge(Exception):
    pass


def _attribute(candidates: list[_Candidate], skipped: list[Skipped], layout: str, layout_rel: tuple[str, ...],
               root: Path, assignment: Assignment, warnings: list[str]) -> None:
    """Report each skipped zip member to the submission it would belong to (or as a batch warning)."""
    by_rel = {c.rel: c for c in candidates}
    for item in skipped:
        prefixes = (item.parts[:k] for k in range(len(item.parts), 0, -1))
        owner = next((by_rel[p] for p in prefixes if p in by_rel), None)
        if owner is not None:
            owner.sub.problems.insert(0, item.reason)
            continue
        rest = item.parts[len(layout_rel):] if item.parts[:len(layout_rel)] == layout_rel else ()
        own_entry = (item.whole and len(rest) == 1 and rest[0].endswith(".ipynb")) if layout == "flat" \
            else rest[:1] != (METADATA_FILE,)
        if not rest or not own_entry:
            warnings.append(item.reason)
            continue
        name = rest[0]
        sub = Submission("", {}, origin=str(root.joinpath(*layout_rel, name)), display_name=_text(name))
        _refuse(sub, item.reason, assignment.notebooks)
        stem = name[:-len(".ipynb")] if layout == "flat" else name
        cand = _Candidate(sub, stem, (*layout_rel, name), fixed=layout == "nbgrader")
        if cand.fixed and nbgrader_id_problem(name):
            cand.fixed = False
        candidates.append(cand)
        by_rel[cand.rel] = cand


# ------------------------------------------------------------------------------------------- entry point
def _collect(path: Path, assignment: Assignment, skipped: list[Skipped]) \
        -> tuple[list[_Candidate], list[str]]:
    """The candidates (ids not yet chosen) of the layout found below ``path``, and batch warnings."""
    warnings: list[str] = []
    layout_dir = _descend(path, assignment, warnings)
    meta = layout_dir / METADATA_FILE
    gradescope = _lmode(meta) is not None
    if _is_nbgrader_layout(layout_dir, assignment) and not gradescope:
        layout, candidates = "nbgrader", _nbgrader(layout_dir, path, assignment, warnings)
    elif _is_flat(layout_dir):
        layout, candidates = "flat", _flat(layout_dir, path, assignment, warnings)
    else:
        layout, candidates = "folders", _folders(layout_dir, path, assignment, warnings)
    _attribute(candidates, skipped, layout, _rel(layout_dir, path), path, assignment, warnings)
    if layout == "folders" and gradescope:
        entries, problem = read_gradescope_metadata(meta)
        if problem:
            warnings.append(problem)
        _apply_gradescope(candidates, entries)
    return candidates, warnings


def discover(path: str | Path, assignment: Assignment, scratch: Path, max_total_mb: int = 4096) \
        -> list[Submission]:
    """All submissions in ``path`` (a folder or a zip), sorted by student id.

    Parameters
    ----------
    path : str or Path
        A course root, ``submitted/``, a folder of notebooks or of student folders, or a zip of any of them.
        The path itself may be a link (the instructor's choice); nothing below it is followed.
    assignment : Assignment
        The assignment graded (its name and notebook stems).
    scratch : Path
        A private folder where a zip is extracted.
    max_total_mb : int
        Largest total size of a zip's contents.

    Returns
    -------
    Submissions
        A list of :class:`Submission` with batch-level ``warnings``. Refused entries are submissions with a
        problem and no notebooks; only an unusable ``path`` (or zip) raises ``ValueError``.
    """
    path = Path(path)
    skipped: list[Skipped] = []
    if path.is_file() and zipfile.is_zipfile(path):
        target = scratch / "unzipped"
        skipped = safe_extract(path, target, max_total_mb, strict=False)
        path = target
    elif path.is_file():
        raise ValueError(f"{path} is neither a folder nor a zip file of submissions")
    if not path.is_dir():
        raise ValueError(f"no submissions: {path} does not exist")
    candidates, warnings = _collect(path, assignment, skipped)
    if not candidates:
        raise ValueError(f"no submissions found in {path}" + (f" ({skipped[0].reason})" if skipped else ""))
    _assign_ids(candidates, assignment.notebooks)
    return Submissions(sorted((c.sub for c in candidates), key=lambda s: s.student), warnings)
