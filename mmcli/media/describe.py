"""How messages about media name things: a source, a size, a reason.

The bottom of ``mmcli.media``: ``sources`` (reading) and ``images``, ``audio``
and ``video`` (converting) all word their errors with these, so they live here,
below all of them, and the modules that read call down into the ones that
convert and never the other way round.
"""

from __future__ import annotations


def display_name(source: str) -> str:
    """How messages name a source: stdin for ``-``, a URL without its query string."""
    return "stdin" if source == "-" else stored_source(source)


def stored_source(source: str) -> str:
    """The source as sessions keep it: a URL loses its query and fragment (presigned tokens, signatures)."""
    if not source.startswith(("http://", "https://")):
        return source
    cut = min((at for at in (source.find("?"), source.find("#")) if at != -1), default=-1)
    return source if cut == -1 else source[:cut]


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def reason_text(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return one_line(str(reason).rstrip(".")) or type(reason).__name__


def mb(size: float) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
