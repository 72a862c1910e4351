"""pyproject.toml, environment.yml and the locks (requirements/*.lock) must agree.

environment.yml names the same packages as pyproject.toml with the same version bounds; each lock pins every
package its set requires (dev.lock: runtime + all extras; grader.lock: runtime + grader) at versions inside
pyproject.toml's bounds, with hashes.
"""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


def _normalise(requirement: str) -> tuple[str, str]:
    match = _REQ.match(requirement.split(";")[0])
    assert match, f"cannot parse requirement {requirement!r}"
    name, spec = match.groups()
    return re.sub(r"[-_.]+", "-", name).lower(), spec.replace(" ", "")


def pyproject_packages(extras: tuple[str, ...] | None = None) -> dict[str, str]:
    """Name -> version bound of pyproject.toml's runtime dependencies and ``extras`` (default: all extras);
    self-references such as ``mlcourse[grader,cluster]`` are followed, not listed."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = meta.get("optional-dependencies", {})
    todo, seen = list(optional) if extras is None else list(extras), set()
    reqs = list(meta["dependencies"])
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for r in optional[extra]:
            self_ref = re.match(rf"^\s*{re.escape(meta['name'])}\s*\[([^\]]*)\]", r)
            if self_ref:
                todo += [e.strip() for e in self_ref.group(1).split(",")]
            else:
                reqs.append(r)
    return dict(_normalise(r) for r in reqs)


def environment_packages(name: str = "environment.yml") -> dict[str, str]:
    packages = {}
    in_deps = False
    for line in (ROOT / name).read_text().splitlines():
        stripped = line.split("#")[0].rstrip()
        if not stripped:
            continue
        if re.match(r"^dependencies:", stripped):
            in_deps = True
            continue
        if in_deps and re.match(r"^\S", stripped):
            break
        item = re.match(r"^  - (\S.*)$", stripped)  # top-level list items only (not the pip: block)
        if in_deps and item and not item.group(1).startswith("pip"):
            name, spec = _normalise(item.group(1))
            if name != "python":
                packages[name] = spec
    return packages


def test_environment_yml_lists_the_same_packages_as_pyproject():
    py, env = pyproject_packages(), environment_packages()
    missing = sorted(set(py) - set(env))
    extra = sorted(set(env) - set(py))
    assert not missing, f"environment.yml lacks {missing}: add them (same bounds as pyproject.toml)"
    assert not extra, f"environment.yml has {extra} that pyproject.toml does not: remove or add there"
    differ = {n: (py[n], env[n]) for n in py if py[n] != env[n]}
    assert not differ, f"version bounds differ (pyproject, environment.yml): {differ}"


def test_environment_check_detects_drift(tmp_path, monkeypatch):
    """The parser really reads the file: dropping a package makes the comparison fail."""
    text = (ROOT / "environment.yml").read_text().replace("  - scipy>=1.11\n", "")
    fake = tmp_path / "environment.yml"
    fake.write_text(text)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert "scipy" in pyproject_packages() and "scipy" not in environment_packages()


def lock_pins(name: str) -> dict[str, list[tuple[str, str, int]]]:
    """Name -> [(version, environment marker, number of hashes)] of ``requirements/<name>``: a universal lock
    may pin a package once per Python version range."""
    text = (ROOT / "requirements" / name).read_text()
    pins: dict[str, list[tuple[str, str, int]]] = {}
    for entry in re.split(r"\n(?=\S)", text):
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)(?:\s*;\s*([^\\\n]*))?", entry)
        if match:
            key = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            marker = (match.group(3) or "").strip()
            pins.setdefault(key, []).append((match.group(2), marker, entry.count("--hash=sha256:")))
    return pins


@pytest.mark.parametrize(("lock", "extras"), [("dev.lock", None), ("grader.lock", ("grader",))])
def test_lock_pins_every_dependency_within_pyproject_bounds(lock, extras):
    from packaging.specifiers import SpecifierSet

    pins = lock_pins(lock)
    assert pins, f"requirements/{lock} pins nothing"
    unhashed = sorted(n for n, entries in pins.items() if any(h == 0 for *_, h in entries))
    assert not unhashed, f"requirements/{lock} has pins without hashes: {unhashed}; run make lock"
    wanted = pyproject_packages(extras)
    missing = sorted(set(wanted) - set(pins))
    assert not missing, f"requirements/{lock} lacks {missing}: run make lock after editing pyproject.toml"
    outside = {n: [v for v, *_ in pins[n]] for n, spec in wanted.items()
               if any(v not in SpecifierSet(spec) for v, *_ in pins[n])}
    assert not outside, f"requirements/{lock} pins versions outside pyproject.toml's bounds: {outside}; " \
                        "run make lock"


def test_dev_lock_is_the_environment_the_makefile_installs():
    makefile = (ROOT / "Makefile").read_text()
    assert "LOCK      := requirements/dev.lock" in makefile
    assert "--require-hashes -r $(LOCK)" in makefile and "--no-deps -e ." in makefile
    assert re.search(r"^\$\(STAMP\): pyproject.toml \$\(LOCK\)", makefile, re.M), \
        "the venv must be rebuilt when the lock changes"
