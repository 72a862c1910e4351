"""The sandboxed worker: runs one student's notebook code and answers calls with plain data.

Started as ``python -m autograder.engine.sandbox.worker`` (no shell) with its protocol on stdin/stdout, or
forked by :mod:`autograder.engine.sandbox.zygote`. It reads one ``setup`` frame, confines itself
(:mod:`autograder.engine.sandbox.confine`), answers ``ready`` and then serves requests until ``exit`` or end
of input:

``load``          run the notebook's code cells (sent by the trusted side) in a fresh namespace
``call``          ``name(*args, **kwargs)``
``eval``          an expression string written by the hidden tests (kept for instructors' debugging; the
                  hidden suites evaluate their expressions on the trusted side, see ``remote``)
``stage`` / ``run`` / ``take``  prepare one call's arguments, run it with nothing returned (timed by the
                  parent), then send its result back (so every timed result is checked)
``global`` / ``apply`` / ``forget``  operations on the student's objects for the trusted side's
                  :mod:`autograder.engine.remote`: objects that are not plain data stay here behind numbered
                  handles; callables of the trusted side are represented here by stubs that call back

Array arguments reach the student's code read-only (:func:`autograder.plain.readonly`): a function that writes
into one fails with a ``mutation`` error instead of silently changing its input.

Everything the worker says is untrusted by design: the student's code runs in this process and may have
changed any of it. The trusted side validates each response (:func:`autograder.engine.protocol.decode`) and
measures time itself.
"""

from __future__ import annotations

import builtins
import gc
import operator
import os
import signal
import sys
import time
import warnings

import numpy as np

from autograder.engine.protocol import ProtocolError, decode, encode, read_blocking, write_blocking
from autograder.engine.sandbox import confine
from autograder.plain import (
    StudentError,
    builtin_name,
    is_readonly_write,
    mutation_message,
    readonly,
    timeout_message,
    to_plain,
)


class Expired(BaseException):
    """The CPU-time limit of a cell or call ran out (a BaseException: ``except Exception`` cannot eat it)."""


def _on_cpu_limit(signum, frame):
    signal.setitimer(signal.ITIMER_PROF, 0.2)  # fire again if the student's code swallows it
    raise Expired()


class _CpuLimit:
    """A CPU-time limit; nested limits (a call made while a callback runs) never extend the outer one."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.outer = 0.0
        self.started = 0.0

    def __enter__(self):
        self.outer = signal.getitimer(signal.ITIMER_PROF)[0]
        self.started = time.process_time()
        signal.signal(signal.SIGPROF, _on_cpu_limit)
        seconds = max(self.seconds, 0.01)
        if self.outer > 0:
            seconds = min(seconds, self.outer)
        signal.setitimer(signal.ITIMER_PROF, seconds)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_PROF, 0)
        if self.outer > 0:
            left = self.outer - (time.process_time() - self.started)
            signal.setitimer(signal.ITIMER_PROF, max(left, 0.01))
        return False


def first_line(exc: BaseException) -> str:
    try:
        text = str(exc).strip().splitlines()
    except BaseException:
        return ""
    return text[0][:200] if text else ""


class Failure(Exception):
    def __init__(self, kind: str, message: str, exc_type: str = "", text: str = "") -> None:
        super().__init__(message)
        self.kind, self.message, self.exc_type, self.text = kind, message, exc_type, text


def describe(what: str, exc: BaseException, cpu: float, memory_mb: int) -> Failure:
    """A student-facing one-line reason for an exception raised by the student's code."""
    failure = _describe(what, exc, cpu, memory_mb)
    failure.exc_type, failure.text = builtin_name(exc), first_line(exc)
    return failure


def _describe(what: str, exc: BaseException, cpu: float, memory_mb: int) -> Failure:
    if is_readonly_write(exc):
        return Failure("mutation", mutation_message(what))
    if isinstance(exc, Expired):
        return Failure("timeout", timeout_message(what, cpu))
    if isinstance(exc, MemoryError):
        return Failure("memory", f"{what} ran out of memory (the limit is {memory_mb} MiB)")
    if isinstance(exc, SystemExit):
        return Failure("error", f"{what} called exit() / sys.exit(), which is not allowed while grading")
    if isinstance(exc, NotImplementedError):
        return Failure("error", f"{what} is not implemented yet (it raises NotImplementedError)")
    if isinstance(exc, RecursionError):
        return Failure("error", f"{what} raised RecursionError (infinite recursion?)")
    if isinstance(exc, StudentError):
        return Failure("error", first_line(exc))
    name = type(exc).__name__ if isinstance(type(exc).__name__, str) else "an exception"
    return Failure("error", f"{what} raised {name}: {first_line(exc)}".rstrip(": "))


class Determinism:
    """Unseeded randomness made repeatable: the same notebook draws the same numbers on every run.

    ``os.urandom`` (and with it NumPy's fresh ``SeedSequence`` entropy, ``np.random.default_rng()``,
    ``RandomState()``) and new ``random.Random()`` instances draw from a generator reseeded before each load;
    the global generators of ``random`` and ``numpy.random`` are seeded with 0. Only seeds derived from the
    clock stay irreproducible.
    """

    def __init__(self) -> None:
        import random as random_module

        self.random = random_module
        self.source = random_module.Random(0)
        source = self.source

        def urandom(n: int) -> bytes:
            return source.randbytes(int(n))

        original_seed = random_module.Random.seed

        def seed(self, a=None, version=2):
            if a is None:
                a = source.getrandbits(64)
            return original_seed(self, a, version)

        os.urandom = urandom
        random_module._urandom = urandom
        random_module.Random.seed = seed
        random_module.seed = random_module._inst.seed

    def reset(self) -> None:
        self.source.seed(0)
        self.random.seed(0)
        np.random.seed(0)  # noqa: NPY002  (the legacy global generator students may use)


#: Modules whose state the worker's own machinery (conversion, encoding, framing) relies on.
GUARDED_MODULES = ("builtins", "numpy", "numpy.lib.format", "numpy.lib._format_impl", "numpy.lib._npyio_impl",
                   "numpy.lib.npyio", "base64", "binascii", "json", "json.encoder", "json.decoder", "io",
                   "os", "posix", "signal", "struct", "warnings", "copy", "math", "random", "gc",
                   "autograder.plain", "autograder.engine.protocol", "autograder.engine.sandbox.worker",
                   "autograder.engine.sandbox.confine")
GUARDED_CLASSES = ("json.JSONEncoder", "json.JSONDecoder")


class ModuleGuard:
    """Undoes the student's monkeypatching of the modules the worker itself uses, after every call.

    A submission may replace ``builtins.isinstance``, ``numpy.save``, ``json.dumps`` or the worker's own
    functions. Comparisons never happen here (the trusted side has its own, untouched modules), but a patched
    worker could fail to send back the honest parts' results; restoring these modules' dictionaries before
    the worker converts and sends a result keeps the honest parts gradeable.
    """

    def __init__(self) -> None:
        self.modules = []
        for name in GUARDED_MODULES:
            module = sys.modules.get(name)
            if module is not None:
                self.modules.append((name, module, dict(module.__dict__)))
        self.classes = []
        for dotted in GUARDED_CLASSES:
            module_name, _, cls_name = dotted.rpartition(".")
            cls = getattr(sys.modules.get(module_name), cls_name, None)
            if isinstance(cls, type):
                self.classes.append((cls, dict(vars(cls))))

    def restore(self) -> None:
        modules = sys.modules
        module_type = type(sys)
        for name, module, saved in self.modules:
            if modules.get(name) is not module:
                modules[name] = module
            current = module.__dict__
            if current == saved:
                continue
            for key in [k for k in current if k not in saved]:
                if not isinstance(current[key], module_type):  # keep submodules imported since
                    del current[key]
            for key, value in saved.items():
                if current.get(key, current) is not value:
                    current[key] = value
        for cls, saved in self.classes:
            current = vars(cls)
            if current != saved:
                for key in [k for k in current if k not in saved]:
                    try:
                        delattr(cls, key)
                    except (AttributeError, TypeError):
                        pass
                for key, value in saved.items():
                    if current.get(key) is not value:
                        try:
                            setattr(cls, key, value)
                        except (AttributeError, TypeError):
                            pass


#: What the trusted side may apply to the student's objects (``apply`` requests); ``call`` calls a handle.
APPLY = {
    **{name: getattr(operator, name) for name in (
        "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "neg", "pos", "abs",
        "lt", "le", "gt", "ge", "eq", "ne", "getitem", "contains", "invert", "and_", "or_", "xor")},
    "getattr": getattr, "float": float, "int": int, "bool": bool, "len": len, "list": list,
    "type": type, "index": operator.index, "complex": complex,
}


class Worker:
    """The request loop. ``self.ns`` is the student's namespace."""

    def __init__(self, fd_in: int, fd_out: int, setup: dict) -> None:
        self.determinism = Determinism()
        self.determinism.reset()  # imports numpy.random before the guard takes its snapshot
        self.guard = ModuleGuard()
        self.fd_in, self.fd_out = fd_in, fd_out
        self.limits = setup["limits"]
        self.ns: dict = {"__name__": "__student__"}
        self.staged: tuple | None = None
        self.result = None
        self.handles: dict[int, object] = {}
        self.request_id = None

    # -------------------------------------------------------------- helpers
    def send(self, message: dict) -> None:
        write_blocking(self.fd_out, message)

    def lookup(self, name: str):
        fn = self.ns.get(name)
        if fn is None:
            raise Failure("error", f"{name} is not defined: define it in the notebook (check the spelling)")
        if not callable(fn):
            raise Failure("error", f"{name} is defined but is not a function")
        return fn

    def run(self, what: str, fn, args: tuple, kwargs: dict, cpu: float):
        try:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with _CpuLimit(cpu):
                        return fn(*args, **kwargs)
            finally:
                self.guard.restore()
        except BaseException as exc:
            raise describe(what, exc, cpu, self.limits["memory_mb"]) from None

    def plain(self, value, what: str):
        try:
            with _CpuLimit(float(self.limits["call_cpu"])):
                return encode(to_plain(value, what))
        except Expired:
            raise Failure("timeout", f"converting what {what} returned took too long") from None
        except StudentError as exc:
            raise Failure("error", first_line(exc)) from None
        except (ProtocolError, RecursionError, ValueError, TypeError, OverflowError) as exc:
            raise Failure("error", f"{what} returned a value that cannot be sent back ({first_line(exc)})") \
                from None

    # -------------------------------------------------------------- handles and callbacks
    def export(self, value, depth: int = 0):
        """``value`` for the trusted side: plain data where it is plain, a handle for anything else."""
        kind = type(value)
        if value is None or kind in (bool, int, float, complex, str) \
                or (kind is np.ndarray and value.dtype.kind in "biufc") \
                or (isinstance(value, np.generic) and value.dtype.kind in "biufc"):
            return self.plain(value, "a value")
        if kind in (list, tuple) and len(value) <= 10_000 and depth < 8:
            items = [self.export(v, depth + 1) for v in value]
            return items if kind is list else {"t": items}
        if len(self.handles) >= 200_000:
            raise Failure("error", "too many objects are being checked at once")
        key = len(self.handles) + 1
        while key in self.handles:
            key += 1
        self.handles[key] = value
        return {"h": key}

    def load_value(self, data, depth: int = 0):
        """Arguments from the trusted side: plain data (arrays read-only), handles and callback stubs."""
        if type(data) is dict and len(data) == 1:
            (tag, body), = data.items()
            if tag == "h":
                if type(body) is not int or body not in self.handles:
                    raise Failure("error", "an object of yours is no longer available")
                return self.handles[body]
            if tag == "fn" and type(body) is int:
                return self.stub(body)
            if tag == "t" and type(body) is list:
                return tuple(self.load_value(v, depth + 1) for v in body)
            if tag == "d" and type(body) is list:
                return {str(k): self.load_value(v, depth + 1) for k, v in body}
        if type(data) is list:
            return [self.load_value(v, depth + 1) for v in data]
        return readonly(decode(data))

    def stub(self, key: int):
        """A callable standing for the trusted side's function ``key``: each call is made (and counted)
        there, with this process serving the trusted side's operations on its arguments meanwhile."""
        worker = self

        def function(*args, **kwargs):
            return worker.call_back(key, args, kwargs)

        function.__name__ = function.__qualname__ = "f"
        return function

    def call_back(self, key: int, args: tuple, kwargs: dict):
        exported = {"callback": key, "args": [self.export(a) for a in args],
                    "kwargs": {"d": [[str(k), self.export(v)] for k, v in kwargs.items()]}}
        self.send({"id": self.request_id, **exported})
        while True:
            request = read_blocking(self.fd_in)
            if request is None or request.get("op") == "exit":
                os._exit(0)
            op = request.get("op")
            if op == "cb_return":
                return self.load_value(request.get("value"))
            if op == "cb_raise":
                kind = getattr(builtins, str(request.get("type")), None)
                if not (isinstance(kind, type) and issubclass(kind, Exception)):
                    kind = RuntimeError
                raise kind(str(request.get("message", ""))[:200])
            self.handle(request)

    # -------------------------------------------------------------- remote operations
    def op_global(self, request: dict):
        name = str(request["name"])
        if name not in self.ns:
            raise Failure("error", f"{name} is not defined: define it in the notebook (check the spelling)",
                          "NameError", f"name {name!r} is not defined")
        return self.export(self.ns[name])

    def op_apply(self, request: dict):
        fn = str(request["fn"])
        args = tuple(self.load_value(a) for a in request.get("args", []))
        kwargs = {str(k): self.load_value(v) for k, v in request.get("kwargs", {}).get("d", [])}
        if fn == "call":
            target, args = args[0], args[1:]
        else:
            target = APPLY[fn]
        what = str(request.get("what", "your code"))[:100]
        value = self.run(what, target, args, kwargs, float(request["cpu"]))
        return self.export(value)

    def op_plain(self, request: dict):
        return self.plain(self.load_value(request["value"]), str(request.get("what", "your code"))[:100])

    def op_forget(self, request: dict):
        self.handles.clear()
        return None

    # -------------------------------------------------------------- operations
    def op_load(self, request: dict) -> dict:
        self.determinism.reset()
        cpu = float(request.get("cell_cpu", self.limits["cell_cpu"]))
        errors, heavy = [], []
        filename = request.get("filename", "notebook")
        for index, source in request["cells"]:
            self.send({"id": request["id"], "cell": index})
            try:
                code = compile(source, f"<{filename} cell {index}>", "exec")
            except SyntaxError as exc:
                errors.append([index, f"cell {index} has a syntax error (line {exc.lineno}): {exc.msg}"])
                continue
            except BaseException as exc:
                errors.append([index, f"cell {index} could not be compiled ({type(exc).__name__})"])
                continue
            try:
                self.run(f"cell {index}", exec, (code, self.ns), {}, cpu)
            except Failure as failure:
                errors.append([index, failure.message])
                if failure.kind == "memory":
                    heavy.append(index)
                    gc.collect()
        return {"errors": errors, "heavy": heavy}

    def op_call(self, request: dict):
        name = request["name"]
        fn = self.lookup(name)
        args = readonly(decode(request.get("args", [])))
        kwargs = readonly(decode(request.get("kwargs", {"d": []})))
        result = self.run(name, fn, tuple(args), kwargs, float(request["cpu"]))
        return self.plain(result, name)

    def op_eval(self, request: dict):
        expr = request["expr"]
        code = compile(expr, "<check>", "eval")
        result = self.run(expr, eval, (code, self.ns), {}, float(request["cpu"]))
        return self.plain(result, expr)

    def op_stage(self, request: dict):
        self.lookup(request["name"])
        self.staged = (request["name"], readonly(decode(request.get("args", []))), float(request["cpu"]))
        self.result = None
        return None

    def op_run(self, request: dict):
        if self.staged is None:
            raise Failure("error", "nothing staged")
        (name, args, cpu), self.staged = self.staged, None
        value = self.run(name, self.lookup(name), tuple(args), {}, cpu)
        try:  # converted (copied) before the reply: work cannot continue on it after the clock stops
            self.result = (name, to_plain(value, name))
        except StudentError as exc:
            raise Failure("error", first_line(exc)) from None
        return None

    def op_take(self, request: dict):
        if self.result is None:
            raise Failure("error", "nothing was run")
        (name, value), self.result = self.result, None
        return self.plain(value, name)

    # -------------------------------------------------------------- loop
    def serve(self) -> None:
        while True:
            try:
                request = read_blocking(self.fd_in)
            except ProtocolError:
                return
            if request is None or request.get("op") == "exit":
                return
            self.handle(request)

    def handle(self, request: dict) -> None:
        """Answer one request (also while a callback waits for the trusted side: requests nest)."""
        ops = {"load": self.op_load, "call": self.op_call, "eval": self.op_eval, "stage": self.op_stage,
               "run": self.op_run, "take": self.op_take, "global": self.op_global, "apply": self.op_apply,
               "plain": self.op_plain, "forget": self.op_forget}
        self.guard.restore()
        rid, op = request.get("id"), request.get("op")
        outer, self.request_id = self.request_id, rid
        try:
            try:
                if op == "ping":
                    response = {"id": rid, "ok": True, "value": None}
                elif op not in ops:
                    response = {"id": rid, "ok": False, "kind": "error", "error": f"unknown operation {op}"}
                else:
                    value = ops[op](request)
                    response = {"id": rid, "ok": True, "value": value}
            except Failure as failure:
                response = {"id": rid, "ok": False, "kind": failure.kind, "error": failure.message,
                            "exc": failure.exc_type, "text": failure.text}
            except Expired:
                response = {"id": rid, "ok": False, "kind": "timeout",
                            "error": "took longer than allowed and was stopped"}
            except MemoryError:
                response = {"id": rid, "ok": False, "kind": "memory", "error": "ran out of memory"}
            except (KeyError, TypeError, ValueError, IndexError) as exc:  # a malformed request
                response = {"id": rid, "ok": False, "kind": "error",
                            "error": f"malformed request ({type(exc).__name__})"}
            self.send(response)
        except Expired:  # the re-armed timer fired while answering: the call did exceed its limit
            signal.setitimer(signal.ITIMER_PROF, 0)
            self.send({"id": rid, "ok": False, "kind": "timeout",
                       "error": "took longer than allowed and was stopped"})
        finally:
            self.request_id = outer


def serve_connection(fd_in: int, fd_out: int) -> int:
    """Read the setup frame, confine this process, report ``ready``, serve requests; the exit status."""
    setup = read_blocking(fd_in)
    if setup is None or setup.get("op") != "setup":
        return 2
    try:
        state = confine.isolate(setup)
        home = os.getcwd()
        confine.install_guards(setup, state, home)
    except BaseException as exc:  # report why the sandbox could not be built, then give up
        write_blocking(fd_out, {"ready": False, "error": f"{type(exc).__name__}: {first_line(exc)}"})
        return 3
    write_blocking(fd_out, {"ready": True, "sandbox": state.as_dict(), "pid": os.getpid()})
    Worker(fd_in, fd_out, setup).serve()
    return 0


def _private_fds() -> tuple[int, int]:
    """Move the protocol pipes off fds 0/1 and point 0, 1, 2 at /dev/null (student prints go nowhere)."""
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    return fd_in, fd_out


def main() -> int:
    fd_in, fd_out = _private_fds()
    return serve_connection(fd_in, fd_out)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
