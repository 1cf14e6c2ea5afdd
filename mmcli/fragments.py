"""Text context for a prompt (`-f/--fragment PATH|URL|-`): text files, whole
directories and web pages, each turned into one text ``Part`` whose ``source``
says where it came from.

A fragment is sent as text ahead of the prompt, framed so the model can tell
the files apart; sessions keep its text once by hash (like media), and the
cache key covers its text. A PDF named by URL or path goes as a document, as
with ``--file``.

Nothing here is imported on the ``mmcli --help`` path; the HTML and
.gitignore libraries are imported only when a page or a directory is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .conversation import Part
from .errors import UsageError

# One file or page: far beyond what a prompt should carry, small enough to refuse a log file by mistake.
MAX_FRAGMENT_BYTES = 5 * 1024 * 1024
# A directory: files above this are skipped (lock files, data dumps), and the whole is capped.
MAX_DIRECTORY_FILE_BYTES = 1024 * 1024
MAX_DIRECTORY_BYTES = 5 * 1024 * 1024
MAX_DIRECTORY_FILES = 2000
# Enough to tell text from binary (NUL bytes, invalid UTF-8) without reading everything twice.
_SNIFF_BYTES = 8192
# Pages' parts that are not their text.
_HTML_NOISE = ("script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form", "iframe")


def frame(source: str, text: str) -> str:
    """How a fragment reads in the prompt: tagged with its source, ending in a blank line, so that
    fragments and the prompt that follows them stay apart when a message's text parts are joined."""
    return f'<fragment source="{source}">\n{text.rstrip()}\n</fragment>\n\n'


def unframe(text: str) -> str:
    """The fragment's own text, as it was read (for `sessions show --json` and tests)."""
    head, _, rest = text.partition("\n")
    if head.startswith("<fragment ") and rest.endswith("\n</fragment>\n\n"):
        return rest[: -len("\n</fragment>\n\n")]
    return text


def load(
    sources: list[str], *, timeout: float | None = None, notify: Callable[[str], None] | None = None
) -> list[Part]:
    """Every fragment named, in order (a directory's files sorted by path), as Parts."""
    parts: list[Part] = []
    for source in sources:
        parts += _load_one(source, timeout, notify)
    return parts


def _load_one(source: str, timeout: float | None, notify: Callable[[str], None] | None) -> list[Part]:
    if source == "-":
        from .stdio import read_piped_text, stdin_is_piped

        if not stdin_is_piped():
            raise UsageError("-f - reads text from stdin, but stdin is a terminal; pipe the text in.")
        return [_text_part("stdin", read_piped_text(), "stdin")]
    if source.startswith(("http://", "https://")):
        return [_from_url(source, timeout)]
    path = Path(source).expanduser()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(f"{source} does not exist.") from None
    except OSError as error:
        raise UsageError(f"{source} cannot be read ({error.strerror or error}).") from None
    if stat.S_ISDIR(info.st_mode):
        return _from_directory(source, path, notify)
    return [_from_file(source, path, info)]


def _from_file(source: str, path: Path, info: os.stat_result) -> Part:
    if not stat.S_ISREG(info.st_mode) and not source.startswith(("/dev/fd/", "/proc/self/fd/")):
        raise UsageError(f"{source} is not a regular file; give a text file, a directory or a URL.")
    if info.st_size > MAX_FRAGMENT_BYTES:
        raise UsageError(f"{source} is too large ({_size(info.st_size)}; a fragment can be up to "
                         f"{_size(MAX_FRAGMENT_BYTES)}).")
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FRAGMENT_BYTES + 1)
    except PermissionError:
        raise UsageError(f"{source} cannot be read (permission denied).") from None
    except OSError as error:
        raise UsageError(f"{source} cannot be read ({error.strerror or error}).") from None
    if len(data) > MAX_FRAGMENT_BYTES:
        raise UsageError(f"{source} is larger than the {_size(MAX_FRAGMENT_BYTES)} a fragment can be.")
    if data.startswith(b"%PDF-"):
        return Part(kind="document", data=data, mime_type="application/pdf", source=source)
    text = _decoded(data)
    if text is None:
        raise UsageError(
            f"{source} is not text (it looks binary); attach images, audio or PDFs with -i, -a or --file."
        )
    return _text_part(source, text, source)


def _text_part(source: str, text: str, shown: str) -> Part:
    if not text.strip():
        raise UsageError(f"{shown} is empty; a fragment needs some text.")
    return Part(kind="text", text=frame(source, text), source=source)


def _decoded(data: bytes) -> str | None:
    """The bytes as text, or None when they look binary (a NUL byte, or not UTF-8)."""
    if b"\x00" in data[:_SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


# -- web pages ---------------------------------------------------------------


def _from_url(url: str, timeout: float | None) -> Part:
    from .media.sources import download, stored_source

    shown = stored_source(url)
    data, content_type = download(url, cap=MAX_FRAGMENT_BYTES, timeout=timeout)
    mime, _, params = content_type.partition(";")
    mime = mime.strip()
    if data.startswith(b"%PDF-") or mime == "application/pdf":
        if not data.startswith(b"%PDF-"):
            raise UsageError(f"{shown} says it is a PDF but is not one.")
        return Part(kind="document", data=data, mime_type="application/pdf", source=shown)
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise UsageError(f"{shown} is not a web page or text ({mime or 'binary data'}); "
                         "attach images, audio or PDFs with -i, -a or --file.")
    text = data.decode(_charset(params) or "utf-8", errors="replace")
    looks_html = mime in ("text/html", "application/xhtml+xml") or (
        not mime and text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))
    )
    if looks_html:
        text = html_to_text(text)
    return _text_part(shown, text, shown)


def _charset(params: str) -> str | None:
    import codecs

    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip() == "charset":
            name = value.strip().strip('"')
            try:
                return codecs.lookup(name).name
            except LookupError:
                return None
    return None


def html_to_text(html: str) -> str:
    """A page's readable text as Markdown: its title, then its <main> or <article> (else its
    <body>) without scripts, styles, navigation, headers and footers; links and lists kept."""
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_HTML_NOISE):
        tag.decompose()
    body = soup.find("main") or soup.find("article") or soup.body or soup
    text = MarkdownConverter(heading_style="ATX", bullets="-", strip=["img"]).convert_soup(body)
    lines = [line.rstrip() for line in text.splitlines()]
    # Collapse the runs of blank lines left where noise was removed.
    cleaned: list[str] = []
    for line in lines:
        if line or (cleaned and cleaned[-1]):
            cleaned.append(line)
    text = "\n".join(cleaned).strip()
    if title and not text.startswith("# "):
        text = f"# {title}\n\n{text}"
    return text


# -- directories -------------------------------------------------------------


@dataclass
class _Walk:
    source: str
    parts: list[Part] = field(default_factory=list)
    size: int = 0
    binary: int = 0
    too_large: int = 0
    ignored: int = 0


def _from_directory(source: str, root: Path, notify: Callable[[str], None] | None) -> list[Part]:
    """The text files under ``root``, sorted by path: hidden entries, files .gitignore names,
    binaries and files over the per-file cap are skipped; the count goes to stderr."""
    root = root.resolve()  # absolute paths, so each .gitignore applies by its own place
    ignores = _GitIgnores(root)
    walk = _Walk(source)
    prefix = source.rstrip("/") or "/"
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        ignores.enter(here)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and not ignores.ignored(here / d, is_dir=True)
        )
        for name in sorted(filenames):
            path = here / name
            if name.startswith("."):
                continue
            if ignores.ignored(path, is_dir=False):
                walk.ignored += 1
                continue
            _add_file(walk, path, f"{prefix}/{path.relative_to(root).as_posix()}")
    walk.parts.sort(key=lambda part: part.source.split("/"))  # by path, as `find | sort` lists them
    if not walk.parts:
        raise UsageError(f"{source} holds no text files to add (skipped: {_skipped(walk) or 'nothing'}).")
    if notify is not None:
        files = "file" if len(walk.parts) == 1 else "files"
        skipped = _skipped(walk)
        notify(f"{source}: {len(walk.parts)} text {files}, {_size(walk.size)}" + (f" (skipped {skipped})." if
                                                                                    skipped else "."))
    return walk.parts


def _add_file(walk: _Walk, path: Path, shown: str) -> None:
    try:
        info = path.stat()
    except OSError:
        walk.binary += 1
        return
    if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
        return
    if info.st_size > MAX_DIRECTORY_FILE_BYTES:
        walk.too_large += 1
        return
    try:
        data = path.read_bytes()
    except OSError:
        walk.binary += 1
        return
    text = _decoded(data)
    if text is None or not text.strip():
        walk.binary += text is None
        return
    if walk.size + len(data) > MAX_DIRECTORY_BYTES or len(walk.parts) >= MAX_DIRECTORY_FILES:
        raise UsageError(
            f"{walk.source} holds more than {_size(MAX_DIRECTORY_BYTES)} or "
            f"{MAX_DIRECTORY_FILES} files of text; give a smaller directory or the files themselves."
        )
    walk.size += len(data)
    walk.parts.append(Part(kind="text", text=frame(shown, text), source=shown))


def _skipped(walk: _Walk) -> str:
    notes = [(walk.binary, "binary"), (walk.too_large, f"over {_size(MAX_DIRECTORY_FILE_BYTES)}"),
             (walk.ignored, "ignored by .gitignore")]
    return ", ".join(f"{count} {what}" for count, what in notes if count)


class _GitIgnores:
    """The .gitignore files that apply under a directory: those of the enclosing git
    work tree from its top down to the directory, then each one met on the way down."""

    def __init__(self, root: Path) -> None:
        self._specs: dict[Path, object] = {}
        top = next((p for p in (root, *root.parents) if (p / ".git").exists()), None)
        if top is not None:
            for directory in reversed([p for p in root.parents if p == top or top in p.parents]):
                self._load(directory)

    def enter(self, directory: Path) -> None:
        self._load(directory)

    def _load(self, directory: Path) -> None:
        if directory in self._specs:
            return
        try:
            lines = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            lines = []
        if lines:
            import pathspec

            self._specs[directory] = pathspec.GitIgnoreSpec.from_lines(lines)
        else:
            self._specs[directory] = None

    def ignored(self, path: Path, *, is_dir: bool) -> bool:
        """Whether git would ignore ``path`` (an absolute path under the walked directory):
        the deepest .gitignore with a say wins, so a nested `!keep.log` re-includes."""
        verdict = False
        for base, spec in sorted(self._specs.items(), key=lambda item: len(item[0].parts)):
            if spec is None or base not in path.parents:
                continue
            relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
            include = spec.check_file(relative).include  # type: ignore[attr-defined]
            if include is not None:
                verdict = include
        return verdict


def _size(size: float) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} MB"
