"""pyproject.toml and environment.yml must name the same packages with the same version bounds."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


def _normalise(requirement: str) -> tuple[str, str]:
    match = _REQ.match(requirement.split(";")[0])
    assert match, f"cannot parse requirement {requirement!r}"
    name, spec = match.groups()
    return re.sub(r"[-_.]+", "-", name).lower(), spec.replace(" ", "")


def pyproject_packages() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        reqs += extra
    return dict(_normalise(r) for r in reqs)


def environment_packages() -> dict[str, str]:
    packages = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
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
