"""Frames and plain data across the sandbox boundary.

A frame is an 8-byte big-endian length followed by that many bytes of UTF-8 JSON. Values travel in a tagged
JSON encoding of plain data only: ``None``, ``bool``, ``int``, ``float`` (NaN and infinities allowed), ``str``
and lists as themselves; everything else as a one-key object:

``{"t": [...]}`` tuple, ``{"d": [[key, value], ...]}`` dict with string keys, ``{"c": [re, im]}`` complex,
``{"a": "<base64 .npy>"}`` NumPy array (numeric or boolean dtype, read with ``allow_pickle=False``),
``{"dual": [val, der]}`` :class:`autograder.plain.DualValue`.

:func:`decode` is the trusted side's gate: it rebuilds only those types, with size and depth limits, and
raises :class:`ProtocolError` for anything else. Nothing is ever unpickled. Both the worker and the trusted
side import this module; it needs only the standard library and NumPy.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import select
import socket
import struct
import time
from typing import Any

import numpy as np

from autograder.plain import MAX_ELEMENTS, DualValue

HEADER = struct.Struct(">Q")
MAX_DEPTH = 24
MAX_ITEMS = 10_000
MAX_STR = 1_000_000


class ProtocolError(Exception):
    """A frame or value that breaks the protocol (malformed, too large, or of a type not allowed)."""


class Expired(Exception):
    """No complete frame arrived (or could be written) before the deadline."""


class Closed(Exception):
    """The other end closed the pipe (the worker died)."""


# ---------------------------------------------------------------- values
def encode(value: Any, _depth: int = 0) -> Any:
    """Plain data (as produced by ``autograder.plain.to_plain``) to JSON-ready tagged data."""
    if _depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return value
    if type(value) is list:
        return [encode(v, _depth + 1) for v in value]
    if type(value) is DualValue:
        return {"dual": [encode(value.val, _depth + 1), encode(value.der, _depth + 1)]}
    if type(value) is tuple:
        return {"t": [encode(v, _depth + 1) for v in value]}
    if type(value) is dict:
        return {"d": [[str(k), encode(v, _depth + 1)] for k, v in value.items()]}
    if type(value) is complex:
        return {"c": [value.real, value.imag]}
    if type(value) is np.ndarray:
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {"a": base64.b64encode(buffer.getvalue()).decode("ascii")}
    raise ProtocolError(f"cannot send a value of type {type(value).__name__}")


def _number(x: Any) -> float:
    if type(x) not in (int, float):
        raise ProtocolError("complex parts must be numbers")
    return float(x)


def decode(data: Any, _depth: int = 0) -> Any:
    """Tagged data from the worker back to plain data; refuse anything else (trusted side)."""
    if _depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    kind = type(data)
    if data is None or kind in (bool, int, float):
        return data
    if kind is str:
        if len(data) > MAX_STR:
            raise ProtocolError("string too long")
        return data
    if kind is list:
        if len(data) > MAX_ITEMS:
            raise ProtocolError("sequence too long")
        return [decode(v, _depth + 1) for v in data]
    if kind is not dict or len(data) != 1:
        raise ProtocolError("malformed value")
    (tag, body), = data.items()
    if tag == "t" and type(body) is list and len(body) <= MAX_ITEMS:
        return tuple(decode(v, _depth + 1) for v in body)
    if tag == "d" and type(body) is list and len(body) <= MAX_ITEMS:
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                raise ProtocolError("malformed dict")
            out[pair[0]] = decode(pair[1], _depth + 1)
        return out
    if tag == "c" and type(body) is list and len(body) == 2:
        return complex(_number(body[0]), _number(body[1]))
    if tag == "dual" and type(body) is list and len(body) == 2:
        val, der = decode(body[0], _depth + 1), decode(body[1], _depth + 1)
        for part in (val, der):
            if type(part) not in (int, float, complex, np.ndarray):
                raise ProtocolError("dual number parts must be numbers or arrays")
        return DualValue(val, der)
    if tag == "a" and type(body) is str:
        return _array(body)
    raise ProtocolError("malformed value")


def _array(text: str) -> np.ndarray:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:  # ValueError for pickled/object arrays, anything for garbage
        raise ProtocolError(f"malformed array ({type(exc).__name__})") from None
    if type(array) is not np.ndarray or array.dtype.fields is not None or array.dtype.kind not in "biufc":
        raise ProtocolError("array of a dtype that is not numbers")
    if array.size > MAX_ELEMENTS:
        raise ProtocolError("array too large")
    return np.array(array, copy=True, subok=False)


# ---------------------------------------------------------------- frames
def _json_default(obj: Any) -> Any:
    raise TypeError(f"not JSON: {type(obj).__name__}")


def pack(message: dict) -> bytes:
    """One frame for ``message`` (a dict of JSON data)."""
    body = json.dumps(message, separators=(",", ":"), allow_nan=True, default=_json_default).encode()
    return HEADER.pack(len(body)) + body


def unpack_body(body: bytes) -> dict:
    """Parse a frame body; :class:`ProtocolError` unless it is a JSON object."""
    try:
        message = json.loads(body.decode("utf-8"), parse_constant=_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed frame ({type(exc).__name__})") from None
    if type(message) is not dict:
        raise ProtocolError("frame is not an object")
    return message


def _constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


class FrameReader:
    """Reads frames from a pipe with a deadline and a size cap (trusted side; never blocks past it)."""

    def __init__(self, fd: int, max_bytes: int) -> None:
        self.fd = fd
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        os.set_blocking(fd, False)

    def _fill(self, deadline: float) -> None:
        poller = select.poll()
        poller.register(self.fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Expired()
            if poller.poll(max(1, int(left * 1000))):
                try:
                    chunk = os.read(self.fd, 1 << 20)
                except BlockingIOError:
                    continue
                if not chunk:
                    raise Closed()
                self.buffer += chunk
                return

    def read(self, deadline: float) -> dict:
        """The next frame as a dict; :class:`Expired`, :class:`Closed` or :class:`ProtocolError`."""
        while len(self.buffer) < HEADER.size:
            self._fill(deadline)
        (size,) = HEADER.unpack(self.buffer[:HEADER.size])
        if size > self.max_bytes:
            raise ProtocolError(f"response of {size / 2**20:.0f} MiB is larger than the "
                                f"{self.max_bytes / 2**20:.0f} MiB allowed")
        while len(self.buffer) < HEADER.size + size:
            self._fill(deadline)
        body = bytes(self.buffer[HEADER.size:HEADER.size + size])
        del self.buffer[:HEADER.size + size]
        return unpack_body(body)


def write_all(fd: int, data: bytes, deadline: float) -> None:
    """Write ``data`` to a non-blocking pipe before ``deadline`` (:class:`Expired`, :class:`Closed`)."""
    os.set_blocking(fd, False)
    view = memoryview(data)
    poller = select.poll()
    poller.register(fd, select.POLLOUT | select.POLLERR)
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Expired()
        if not poller.poll(max(1, int(left * 1000))):
            continue
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        except (BrokenPipeError, OSError):
            raise Closed() from None
        view = view[written:]


# ---------------------------------------------------------------- worker side (blocking)
def read_blocking(fd: int, max_bytes: int = 1 << 31) -> dict | None:
    """Read one frame from a blocking fd (worker side); ``None`` at end of file."""
    header = _read_exact(fd, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > max_bytes:
        raise ProtocolError("request too large")
    body = _read_exact(fd, size)
    if body is None:
        return None
    return unpack_body(body)


def _read_exact(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def write_blocking(fd: int, message: dict) -> None:
    """Write one frame to a blocking fd (worker side)."""
    data = memoryview(pack(message))
    while data:
        data = data[os.write(fd, data):]


# ---------------------------------------------------------------- sockets (zygote control channel)
def recv_frame(sock: socket.socket, with_fds: int = 0) -> tuple[dict | None, list[int]]:
    """One frame from a Unix socket (the zygote's control channel), with up to ``with_fds`` passed file
    descriptors; ``(None, fds)`` at end of input."""
    fds: list[int] = []
    header = b""
    while len(header) < HEADER.size:
        if with_fds and not header:
            data, got, _, _ = socket.recv_fds(sock, HEADER.size, with_fds)
            fds += got
        else:
            data = sock.recv(HEADER.size - len(header))
        if not data:
            return None, fds
        header += data
    (size,) = HEADER.unpack(header)
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            return None, fds
        body += chunk
    return unpack_body(body), fds
