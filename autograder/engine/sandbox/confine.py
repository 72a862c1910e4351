"""What a sandboxed worker does to itself before any student code runs. Runs inside the worker only.

In order (each step reported in the worker's ``sandbox`` description):

1. **Resource limits** (``setrlimit``): address space, CPU seconds, file size, no core dumps, few open files.
2. **Namespaces**: a new network namespace (no interfaces but a downed loopback: no network at all) and a new
   mount namespace. As root this needs nothing else; unprivileged, a user namespace is created first.
3. **A private root** (``chroot``): a fresh tmpfs holding read-only bind mounts of exactly what Python needs
   (``/usr``, the interpreter, the virtual environment's libraries, and the allowed ``mlcourse`` modules; the
   reference modules are replaced by stubs that raise ``ImportError``), ``/dev/{null,zero,random,urandom}``
   and a small writable ``/tmp``. The course repository (``solutions/``, ``autograder/``, ``.git``), the
   gradebook, the output folder and all submissions simply do not exist in it.
4. **An unprivileged user** (when started as root): a uid/gid of its own (``uid_base + pid``), no groups,
   ``no_new_privs``, ``RLIMIT_NPROC = 0`` (no processes or threads), parent-death signal.
5. **An audit hook** (``sys.addaudithook``) and an import blocker: no sockets, subprocesses,
   ``fork``/``exec``, signals to other processes, ``ctypes``; no opening of denied paths; no importing the
   reference implementation or the hidden suites. This is the only file-system defence when namespaces are
   unavailable (see ``autograder/README.md`` for what that does and does not stop).

Steps 2-4 degrade gracefully: whatever the host does not allow is skipped and the description says so.
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = \
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
CHROOT = "private root (chroot)"

#: Audit events refused to student code (exact names, or prefixes ending with ".").
BLOCKED_EVENTS = (
    "socket.", "ctypes.", "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "os.fork", "os.forkpty", "os.kill", "os.killpg", "pty.spawn", "os.symlink", "os.link", "os.chroot",
    "os.setuid", "os.setgid", "os.startfile", "webbrowser.open", "urllib.Request", "ftplib.", "smtplib.",
    "http.client.", "sys.remote_exec", "_posixsubprocess",
)
READ_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob", "os.chdir"})
WRITE_EVENTS = frozenset({"os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
                          "os.truncate", "os.utime", "shutil.copyfile", "shutil.copymode", "shutil.copystat",
                          "shutil.copytree", "shutil.rmtree", "shutil.move", "shutil.make_archive",
                          "shutil.unpack_archive", "sqlite3.connect"})


class Confined:
    """What confinement achieved, as plain data for the parent."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.missing: list[str] = []

    def as_dict(self) -> dict:
        return {"steps": self.steps, "missing": self.missing}


# ---------------------------------------------------------------- 1. resource limits
def apply_rlimits(limits: dict) -> None:
    """Set the worker's resource limits (never raising them above what the parent had)."""
    mib = 1 << 20

    def cap(which: int, value: int) -> None:
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value if which != resource.RLIMIT_CPU else value + 5))

    cap(resource.RLIMIT_AS, int(limits["memory_mb"]) * mib)
    cap(resource.RLIMIT_CPU, int(limits["process_cpu"]))
    cap(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * mib)
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_NOFILE, 256)


# ---------------------------------------------------------------- 2-4. namespaces, root, user
def _libc():
    import ctypes

    return ctypes, ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str, ctypes) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


class _Mounter:
    def __init__(self, ctypes, libc) -> None:
        self.ctypes, self.libc = ctypes, libc

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None = None) -> None:
        def enc(s: str | None) -> bytes | None:
            return None if s is None else s.encode()

        _check(self.libc.mount(enc(source), enc(target), enc(fstype), self.ctypes.c_ulong(flags),
                               enc(data)), f"mount {target}", self.ctypes)

    def bind(self, source: str, target: str, readonly: bool = True) -> None:
        self.mount(source, target, None, MS_BIND | MS_REC)
        if readonly:
            self.mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _unshare(state: Confined, ctypes, libc) -> bool:
    root = os.geteuid() == 0
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWNET | (0 if root else CLONE_NEWUSER)
    if libc.unshare(flags) != 0:
        err = os.strerror(ctypes.get_errno())
        # Perhaps only the network namespace is allowed.
        if libc.unshare(CLONE_NEWNET | (0 if root else CLONE_NEWUSER)) == 0:
            state.steps.append("network namespace")
        else:
            state.missing.append(f"network namespace ({err})")
        state.missing.append(f"mount namespace ({err})")
        return False
    if not root:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")
        state.steps.append("user namespace")
    state.steps.append("network namespace")
    state.steps.append("mount namespace")
    return True


def _mkdirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _expose(m: _Mounter, new_root: str, source: str) -> None:
    """Bind ``source`` read-only at the same path inside ``new_root`` (symlinks are recreated)."""
    target = new_root + source
    if os.path.lexists(target):
        return
    if os.path.islink(source):
        _mkdirs(os.path.dirname(target))
        os.symlink(os.readlink(source), target)
        return
    if os.path.isdir(source):
        _mkdirs(target)
    elif os.path.exists(source):
        _mkdirs(os.path.dirname(target))
        open(target, "w").close()
    else:
        return
    m.bind(source, target)


STUB = ('raise ImportError("{name} is part of the course\'s reference implementation and is not available '
        'while grading: write the code yourself")\n')


def _mask_package(m: _Mounter, new_root: str, package_dir: str, allowed: set[str], package: str) -> None:
    """Replace everything in ``package_dir`` (already bound) that is not in ``allowed`` by an import stub."""
    stubs = new_root + "/.stubs"
    _mkdirs(stubs)
    for entry in sorted(os.listdir(package_dir)):
        path = new_root + os.path.join(package_dir, entry)
        if entry in allowed:
            continue
        if entry == "__pycache__" or os.path.isdir(path):
            name = f"{package}.{entry}"
            m.mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
            if entry != "__pycache__":
                _write(os.path.join(path, "__init__.py"), STUB.format(name=name))
            m.mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=64k")
        elif entry.endswith(".py"):
            stub = os.path.join(stubs, entry)
            _write(stub, STUB.format(name=f"{package}.{entry[:-3]}"))
            m.bind(stub, path)
        else:
            m.bind("/dev/null", path)


def _library_paths(cfg: dict) -> list[str]:
    """Directories Python needs: interpreter, stdlib, site-packages; never the course's own folders."""
    secret = [os.path.realpath(p) for p in cfg.get("secret_roots", [])]
    if cfg.get("root_dir"):
        secret.append(os.path.dirname(os.path.realpath(cfg["root_dir"])))  # all workers' private folders
    keep = set()
    for path in [sys.base_prefix, sys.prefix, *sys.path]:
        if not path or not os.path.isabs(path) or not os.path.isdir(path) or os.path.realpath(path) == "/":
            continue
        real = os.path.realpath(path)
        inside_prefix = any(real == p or real.startswith(p + os.sep)
                            for p in (os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)))
        if not inside_prefix and any(real == s or real.startswith(s + os.sep) or s.startswith(real + os.sep)
                                     for s in secret):
            continue
        keep.add(path)
    # Drop paths already covered by another kept path.
    ordered = sorted(keep, key=len)
    out: list[str] = []
    for path in ordered:
        if not any(path == p or path.startswith(p + os.sep) for p in out):
            out.append(path)
    return out


def _build_root(state: Confined, cfg: dict, ctypes, libc) -> None:
    m = _Mounter(ctypes, libc)
    m.mount(None, "/", None, MS_REC | MS_PRIVATE)
    new_root = cfg["root_dir"]
    # noexec: nothing the student writes (below /tmp/work) can be executed or loaded as machine code (a
    # compiled extension module or shared library written there fails to map); the bind mounts of /usr and
    # the Python installation keep their own flags.
    m.mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NOEXEC,
            f"size={int(cfg['limits']['file_mb']) + 4}m,mode=0755")
    for top in ("/usr", "/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin"):
        if os.path.lexists(top):
            _expose(m, new_root, top)
    for path in _library_paths(cfg):
        _expose(m, new_root, path)
    for name, package_dir in sorted(cfg.get("packages", {}).items()):
        _expose(m, new_root, package_dir)
        _mask_package(m, new_root, package_dir, set(cfg.get("allowed", {}).get(name, [])), name)
    _mkdirs(new_root + "/dev")
    for dev in ("null", "zero", "random", "urandom"):
        open(f"{new_root}/dev/{dev}", "w").close()
        m.bind(f"/dev/{dev}", f"{new_root}/dev/{dev}", readonly=False)
    os.makedirs(new_root + "/tmp/work", exist_ok=True)
    os.chmod(new_root + "/tmp", 0o1777)
    os.chroot(new_root)
    os.chdir("/")
    state.steps.append(CHROOT)


def _others_can_read(path: str) -> bool:
    """Whether a uid with no rights of its own can enter every folder up to ``path`` and read it."""
    real = os.path.realpath(path)
    folder = "/"
    for part in [p for p in real.split("/") if p]:
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return False
        folder = os.path.join(folder, part)
    mode = os.stat(real).st_mode
    return bool(mode & stat.S_IROTH and mode & stat.S_IXOTH)


def _drop_privileges(state: Confined, cfg: dict, home: str) -> bool:
    """Become a uid/gid of this worker's own (root only); ``home`` is handed to it first."""
    if "user namespace" in state.steps:
        state.missing.append("separate user (a user namespace maps only the grader's own uid)")
        return False
    if os.geteuid() != 0:
        state.missing.append("separate user (not started as root)")
        return False
    if CHROOT not in state.steps:  # the real file system: can another uid still load Python's libraries?
        hidden = [p for p in (sys.base_prefix, sys.prefix) if not _others_can_read(p)]
        if hidden:
            state.missing.append(f"separate user (other users cannot read {hidden[0]}, where Python lives)")
            return False
    uid = gid = int(cfg.get("uid_base", 1_500_000_000)) + os.getpid()
    os.chown(home, uid, gid)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:  # pragma: no cover - would mean the drop failed
        raise RuntimeError("could not drop root privileges")
    state.steps.append(f"uid {uid}")
    return True


def isolate(cfg: dict) -> Confined:
    """Steps 1-4; returns what was achieved.

    Namespaces and the private root are best effort: where the host refuses them (no user namespaces, a
    container without ``CAP_SYS_ADMIN``, an AppArmor policy that strips a new user namespace of its
    capabilities) the worker carries on without them and says so in ``missing``; the audit hook is then the
    file and network defence. Raises only if a step that must work (rlimits, dropping the uid as root,
    ``no_new_privs``) fails.
    """
    state = Confined()
    apply_rlimits(cfg["limits"])
    state.steps.append("rlimits")
    real_root = os.geteuid() == 0
    mpl_cache = {}
    if cfg.get("mpl_cache") and os.path.isdir(cfg["mpl_cache"]):
        for name in os.listdir(cfg["mpl_cache"]):
            if name.startswith("fontlist") and name.endswith(".json"):
                with open(os.path.join(cfg["mpl_cache"], name), "rb") as handle:
                    mpl_cache[name] = handle.read()
    ctypes, libc = _libc()
    if cfg.get("namespaces", True):
        try:
            if _unshare(state, ctypes, libc) and cfg.get("root_dir"):
                _build_root(state, cfg, ctypes, libc)
        except OSError as exc:  # refused half-way, before the chroot: carry on without a private root
            state.missing.append(f"private root ({exc.strerror or exc})")
        if CHROOT not in state.steps and not any(m.startswith("private root") for m in state.missing):
            state.missing.append("private root")
    home = "/tmp/work" if CHROOT in state.steps else cfg["fallback_home"]
    dropped = _drop_privileges(state, cfg, home) if cfg.get("drop_user", True) else False
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs", ctypes)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if dropped or not real_root:  # RLIMIT_NPROC does not bind root
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
        state.steps.append("no new processes or threads")
    os.makedirs(home, exist_ok=True)
    os.chdir(home)
    mpl = os.path.join(home, ".matplotlib")
    os.makedirs(mpl, exist_ok=True)
    for name, data in mpl_cache.items():
        with open(os.path.join(mpl, name), "wb") as handle:
            handle.write(data)
    os.environ.update({"HOME": home, "TMPDIR": home, "MPLCONFIGDIR": mpl})
    del ctypes, libc
    return state


# ---------------------------------------------------------------- 5. audit hook and import blocker
class _ImportBlocker:
    """A meta-path finder refusing the course's reference modules and hidden suites."""

    def __init__(self, blocked: tuple[str, ...]) -> None:
        self.blocked = blocked

    def is_blocked(self, name: str) -> bool:
        return any(name == b or name.startswith(b + ".") for b in self.blocked)

    def find_spec(self, name: str, path=None, target=None):
        if self.is_blocked(name):
            raise ImportError(f"{name} is not available while grading (the course's reference "
                              "implementation, its tests and C-library loaders are blocked): write the code "
                              "yourself")
        return None


def install_guards(cfg: dict, state: Confined, home: str) -> None:
    """Step 5: the audit hook (network, processes, ctypes, denied paths, writes) and the import blocker."""
    blocked_modules = tuple(cfg.get("blocked_modules", ()))
    blocker = _ImportBlocker(blocked_modules)
    sys.meta_path.insert(0, blocker)
    sys.dont_write_bytecode = True
    denied = tuple(os.path.realpath(p) for p in cfg.get("denied_paths", ()))
    allowed = tuple(os.path.realpath(p) for p in cfg.get("allowed_paths", ()))
    listable = frozenset(os.path.realpath(p) for p in cfg.get("listable_paths", ()))  # exact folders
    writable = (os.path.realpath(home), "/dev/null")
    exact = frozenset(e for e in BLOCKED_EVENTS if not e.endswith("."))
    prefixes = tuple(e for e in BLOCKED_EVENTS if e.endswith("."))
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    realpath, fspath, isinstance_, str_, bytes_, int_ = (os.path.realpath, os.fspath, isinstance, str, bytes,
                                                         int)

    def resolve(arg):
        path = fspath(arg)
        if isinstance_(path, bytes_):
            path = path.decode("utf-8", "surrogateescape")
        return realpath(path)

    def inside(real, roots) -> bool:
        for root in roots:
            if real == root or real.startswith(root + "/"):
                return True
        return False

    def check_path(event: str, arg, write: bool) -> None:
        if arg is None or isinstance_(arg, int_):
            return
        try:
            real = resolve(arg)
        except Exception:
            raise PermissionError(f"{event}: this path is not allowed while grading") from None
        if write and not inside(real, writable):
            raise PermissionError(f"{event}: writing outside the working folder is not allowed while grading")
        if denied and inside(real, denied) and not inside(real, allowed) \
                and not (not write and real in listable):
            raise PermissionError(f"{event}: access to this path is not allowed while grading")

    def hook(event: str, args: tuple) -> None:
        if event in exact or event.startswith(prefixes):
            raise PermissionError(f"{event} is not allowed while grading")
        if event == "open":
            mode, flags = (args[1], args[2]) if len(args) >= 3 else (None, 0)
            write = bool((isinstance_(mode, str_) and ("w" in mode or "a" in mode or "x" in mode
                                                       or "+" in mode))
                         or (isinstance_(flags, int_) and flags & write_flags))
            check_path(event, args[0] if args else None, write)
        elif event == "import":
            if args and isinstance_(args[0], str_) and blocker.is_blocked(args[0]):
                raise ImportError(f"{args[0]} is not available while grading")
        elif event in READ_EVENTS:
            if args:
                check_path(event, args[0], False)
        elif event in WRITE_EVENTS:
            for arg in args[:2]:
                if isinstance_(arg, (str_, bytes_)) or hasattr(arg, "__fspath__"):
                    check_path(event, arg, True)

    sys.addaudithook(hook)
    state.steps.append("audit hook")
