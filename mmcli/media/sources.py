"""Reading what the user named: a path, an http(s) URL, or ``-`` for stdin.

``load`` turns it into a media ``Part`` whose kind and MIME type come from the
bytes, and refuses bad input with one ``UsageError`` sentence. Reading never
blocks on a named pipe, never reads an endless stream (/dev/zero) to its cap
when the first bytes already say it is not media, and never keeps a URL's
query string (presigned tokens) in the Part that sessions store.
"""

from __future__ import annotations

import stat
import sys
import time
from pathlib import Path
from typing import BinaryIO

from ..conversation import Part
from ..errors import UsageError
from . import limits

# Re-exported: callers outside media (fragments, request options, gemini) name sources through here.
from .describe import display_name, mb, one_line, reason_text, stored_source
from .sniff import UNKNOWN, Sniffed, sniff

_EXPECTED_NOUN = {"image": "an image", "audio": "an audio file", "document": "a PDF document", "video": "a video"}
# Enough for every magic number and a text sample: the first read of a stream
# decides whether to go on reading it.
_HEAD_BYTES = 64 * 1024
_CHUNK_BYTES = 1024 * 1024
# Streams a path may name on purpose: process substitution <(...) and stdin.
_STREAM_PREFIXES = ("/dev/fd/", "/proc/self/fd/")
_STREAM_PATHS = ("/dev/stdin",)


def load(
    source: str, *, stdin: BinaryIO | None = None, expect: str | None = None, timeout: float | None = None
) -> Part:
    """Read a path, an http(s) URL or ``-`` (stdin) into a validated media Part.

    ``expect`` ("image", "audio", "video" or "document") refuses any other
    kind with a message that says what the file looks like instead.
    ``timeout`` bounds a whole download (default ``limits.DOWNLOAD_TIMEOUT_S``).
    """
    name = display_name(source)
    # Audio may be hours long: transcription splits or uploads it; video goes to a file API.
    cap = {"audio": limits.MAX_AUDIO_INPUT_BYTES, "video": limits.MAX_VIDEO_INPUT_BYTES}.get(
        expect or "", limits.MAX_INPUT_BYTES
    )

    def check_head(head: bytes) -> None:
        """Refuse at once what the first bytes already rule out, before reading on."""
        found = sniff(head)
        if found.kind is None and found.settled and found is not UNKNOWN:
            _refuse(name, found, expect)
        if found is UNKNOWN and expect in ("audio", "video", "document"):
            _refuse(name, found, expect)

    data = _read_source(source, name, stdin, cap, check_head, timeout)
    if not data:
        raise UsageError(f"{name} is empty.")
    found = sniff(data)
    if found is UNKNOWN and expect in (None, "image"):
        from .images import sniff_with_pillow

        found = sniff_with_pillow(data) or found
    if (expect is not None and found.kind != expect) or found.kind is None:
        _refuse(name, found, expect)
    if found.kind == "image":
        from .images import validate

        validate(data, name, found)
    elif found.kind == "audio":
        from .audio import quick_problem

        problem = quick_problem(data, found.mime_type)
        if problem is not None:
            raise UsageError(f"{name} is {problem}.")
    elif found.kind == "video":
        from .sniff import iso_media_problem

        problem = iso_media_problem(data, found.mime_type, "video")
        if problem is not None:
            raise UsageError(f"{name} is {problem}.")
    return Part(kind=found.kind, data=data, mime_type=found.mime_type, source=stored_source(source))  # type: ignore[arg-type]


def _refuse(name: str, found: Sniffed, expect: str | None) -> None:
    if expect is not None and found.kind != expect:
        raise UsageError(f"{name} is not {_EXPECTED_NOUN[expect]} (it looks like {found.label}).")
    raise UsageError(
        f"{name} is not an image, audio, video or PDF file that mmcli can send (it looks like {found.label})."
    )


def _read_source(source: str, name: str, stdin: BinaryIO | None, cap: int, check_head, timeout) -> bytes:  # type: ignore[no-untyped-def]
    if source == "-":
        return _read_stdin(stdin, cap, check_head)
    if source.startswith(("http://", "https://")):
        return _read_url(source, name, cap, check_head, timeout)
    return _read_file(source, name, cap, check_head)


def _read_stdin(stream: BinaryIO | None, cap: int, check_head) -> bytes:  # type: ignore[no-untyped-def]
    if stream is None:
        from .. import terminal

        stream, on_terminal = sys.stdin.buffer, terminal.current().stdin_isatty
    else:
        isatty = getattr(stream, "isatty", None)
        on_terminal = isatty is not None and isatty()
    if on_terminal:
        raise UsageError("- means read the file from stdin, but stdin is a terminal; pipe the file in.")
    return read_capped(stream, "stdin", cap, check_head)


def _read_file(source: str, name: str, cap: int, check_head) -> bytes:  # type: ignore[no-untyped-def]
    path = Path(source).expanduser()
    try:
        # stat() never blocks, where open() of a named pipe waits for a writer forever.
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            folder = source.rstrip("/") or "/"
            raise UsageError(f"{name} is a directory, not a file; to send the files in it, give {folder}/* instead.")
        streamed = not stat.S_ISREG(info.st_mode)
        if streamed and not _is_named_stream(source):
            raise UsageError(f"{name} is {_special_kind(info.st_mode)}, not a regular file; give a file instead.")
        if not streamed and info.st_size > cap:
            raise UsageError(f"{name} is too large ({mb(info.st_size)}; mmcli reads files up to {mb(cap)}).")
        with path.open("rb") as stream:
            return read_capped(stream, name, cap, check_head)
    except FileNotFoundError:
        raise UsageError(f"{name} does not exist.") from None
    except PermissionError:
        raise UsageError(f"{name} cannot be read (permission denied).") from None
    except IsADirectoryError:
        raise UsageError(f"{name} is a directory, not a file.") from None
    except OSError as error:
        raise UsageError(f"{name} cannot be read ({error.strerror or error}).") from None


def _is_named_stream(source: str) -> bool:
    return source.startswith(_STREAM_PREFIXES) or source in _STREAM_PATHS


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def read_capped(stream: BinaryIO, name: str, cap: int, check_head=None, deadline=None) -> bytes:  # type: ignore[no-untyped-def]
    """Read to the end, refusing past ``cap`` bytes, after ``deadline`` (a monotonic
    time), or as soon as ``check_head`` rejects the first bytes."""
    # Chunked, because read(cap) would reserve the whole cap up front; read1 where
    # there is one, so that a trickling server cannot hold one call past the deadline.
    read = getattr(stream, "read1", None) or stream.read
    chunks: list[bytes] = []
    total = 0
    head_checked = check_head is None
    while True:
        chunk = read(_HEAD_BYTES if not head_checked else _CHUNK_BYTES)
        if not chunk:
            break
        total += len(chunk)
        chunks.append(chunk)
        if not head_checked and (total >= _HEAD_BYTES or len(chunks) > 64):
            head_checked = True
            check_head(b"".join(chunks))
        if total > cap:
            raise UsageError(f"{name} is larger than the {mb(cap)} mmcli reads.")
        if deadline is not None and time.monotonic() > deadline:
            raise _TimedOut
    return b"".join(chunks)


class _TimedOut(Exception):
    pass


def download(url: str, *, cap: int, timeout: float | None = None) -> tuple[bytes, str]:
    """A URL's bytes and its Content-Type (lower case, without parameters' spacing), with the same
    deadline, redirect rules and error sentences as ``load``; for text fragments (web pages)."""
    received: dict[str, str] = {}
    data = _read_url(url, display_name(url), cap, None, timeout, received)
    return data, received.get("content-type", "")


def _read_url(url: str, name: str, cap: int, check_head, timeout: float | None, received=None) -> bytes:  # type: ignore[no-untyped-def]
    import socket
    import urllib.error
    import urllib.parse
    import urllib.request

    total = timeout if timeout and timeout > 0 else limits.DOWNLOAD_TIMEOUT_S
    deadline = time.monotonic() + total
    try:
        urllib.parse.urlsplit(url).port  # noqa: B018  # raises ValueError for a malformed host or port
        request = urllib.request.Request(url, headers={"User-Agent": "mmcli"})
    except ValueError as error:
        raise UsageError(f"{name} is not a valid URL ({reason_text(error)}).") from None
    opener = _opener()
    too_slow = f"Could not download {name} (it did not arrive within {total:g} s)."
    try:
        with opener.open(request, timeout=min(total, limits.DOWNLOAD_READ_TIMEOUT_S)) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise UsageError(f"{name} is too large ({mb(int(declared))}; mmcli downloads up to {mb(cap)}).")
            if received is not None:
                received["content-type"] = (response.headers.get("Content-Type") or "").strip().lower()
            return read_capped(response, name, cap, check_head, deadline)
    except _TimedOut:
        raise UsageError(too_slow) from None
    except _RedirectRefused as refusal:
        raise UsageError(f"Could not download {name} ({refusal}).") from None
    except urllib.error.HTTPError as error:
        raise UsageError(f"Could not download {name} (HTTP {error.code} {one_line(error.reason)}).") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, _RedirectRefused):
            raise UsageError(f"Could not download {name} ({reason}).") from None
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise UsageError(too_slow) from None
        raise UsageError(f"Could not download {name} ({reason_text(reason)}).") from None
    except TimeoutError:
        raise UsageError(too_slow) from None
    except (OSError, ValueError) as error:
        raise UsageError(f"Could not download {name} ({reason_text(error)}).") from None


class _RedirectRefused(Exception):
    pass


def _opener():  # type: ignore[no-untyped-def]
    """A urllib opener that follows redirects only to http(s), a few at most, and
    says 'a loop' in one line (urllib's own message spans three)."""
    import urllib.parse
    import urllib.request

    class HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
        max_redirections = limits.MAX_REDIRECTS
        max_repeats = 2

        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            scheme = urllib.parse.urlsplit(newurl).scheme.lower()
            if scheme not in ("http", "https"):
                raise _RedirectRefused(f"it redirects to a {scheme}: address, and mmcli follows only http(s)")
            visited = getattr(req, "redirect_dict", {})
            if visited.get(newurl, 0) >= self.max_repeats or len(visited) >= self.max_redirections:
                raise _RedirectRefused("it redirects in a loop or too many times")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(HttpOnlyRedirects)
