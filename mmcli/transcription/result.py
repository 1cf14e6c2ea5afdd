"""What a transcription produces: one result per piece of audio, and the whole
transcript they join into, in the format the user asked for.

Providers answer each request with a neutral ``providers.speech.Transcription``
(``piece_of`` reads its segments or subtitles into cues); ``join`` puts the
pieces back together in recording order, shifting timestamps by each piece's
offset and numbering subtitle cues afresh.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..conversation import ModelRef
from .subtitles import Cue, cues_from_segments, format_srt, format_vtt, parse_srt, parse_vtt, shift

if TYPE_CHECKING:
    from ..providers.speech import Transcription


@dataclass
class PieceResult:
    """One request's transcript, provider-neutral."""

    text: str
    cues: list[Cue] | None = None  # timestamps relative to the piece's start
    verbose: dict[str, Any] | None = None  # whisper's verbose_json, as sent
    language: str | None = None
    duration_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    billed_seconds: float | None = None


def piece_of(answer: Transcription) -> PieceResult:
    """One provider answer as a piece: its segments or its subtitle document read into cues."""
    cues: list[Cue] | None = None
    text = answer.text
    if answer.subtitles is not None:
        kind, document = answer.subtitles
        cues = parse_srt(document) if kind == "srt" else parse_vtt(document)
        text = " ".join(c.text.replace("\n", " ") for c in cues)
    elif answer.segments is not None:
        cues = cues_from_segments(answer.segments)
    return PieceResult(
        text=text,
        cues=cues,
        verbose=answer.verbose,
        language=answer.language,
        duration_s=answer.duration_s,
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
        billed_seconds=answer.billed_seconds,
    )


@dataclass
class Transcript:
    model: ModelRef
    format: str
    document: str | dict[str, Any]  # the transcript in ``format``: text, or a JSON object
    text: str
    language: str | None = None
    duration_s: float | None = None
    chunks: int = 1
    input_tokens: int | None = None
    output_tokens: int | None = None
    billed_seconds: float | None = None
    ttft_s: float | None = None
    total_s: float | None = None
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def rendered(self) -> str:
        """The transcript as written to stdout or the -o file, ending in one newline."""
        if isinstance(self.document, dict):
            return json.dumps(self.document, ensure_ascii=False, indent=2) + "\n"
        return self.document if self.document.endswith("\n") else self.document + "\n"

    def to_json(self, source: str, output: str | None) -> dict[str, Any]:
        """The `--json` document: the transcript wrapped with model, duration, usage and timings."""
        from ..pricing import cost_usd

        return {
            "model": self.model.name,
            "provider": self.model.provider,
            "source": source,
            "format": self.format,
            "transcript": self.document,
            "text": self.text,
            "language": self.language,
            "duration_s": _round(self.duration_s),
            "chunks": self.chunks,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "billed_seconds": _round(self.billed_seconds),
            "ttft_s": _round(self.ttft_s),
            "total_s": _round(self.total_s),
            "cost_usd": cost_usd(self.model.provider, self.model.name, self.input_tokens, self.output_tokens),
            "cached": self.cached,
            "output": output,
        }

    def to_cache(self) -> dict[str, Any]:
        return {
            "provider": self.model.provider,
            "model": self.model.name,
            "format": self.format,
            "document": self.document,
            "text": self.text,
            "language": self.language,
            "duration_s": self.duration_s,
            "chunks": self.chunks,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "billed_seconds": self.billed_seconds,
        }

    @classmethod
    def from_cache(cls, entry: dict[str, Any]) -> Transcript:
        return cls(
            model=ModelRef(entry["provider"], entry["model"]),
            format=entry["format"],
            document=entry["document"],
            text=entry["text"],
            language=entry.get("language"),
            duration_s=entry.get("duration_s"),
            chunks=entry.get("chunks", 1),
            input_tokens=entry.get("input_tokens"),
            output_tokens=entry.get("output_tokens"),
            billed_seconds=entry.get("billed_seconds"),
            ttft_s=0.0,
            total_s=0.0,
            cached=True,
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _total(values: Sequence[float | int | None]) -> Any:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def join_text(texts: Sequence[str]) -> str:
    return " ".join(t.strip() for t in texts if t.strip())


def join(
    model: ModelRef,
    fmt: str,
    pieces: Sequence[tuple[float, PieceResult]],
    duration_s: float | None,
) -> Transcript:
    """The whole transcript from ``(offset_s, result)`` pairs in recording order."""
    results = [r for _, r in pieces]
    text = join_text([r.text for r in results])
    language = next((r.language for r in results if r.language), None)
    cues: list[Cue] | None = None
    if all(r.cues is not None for r in results):
        cues = [cue for offset, r in pieces for cue in shift(r.cues or [], offset)]
    if duration_s is None:
        last_offset, last = pieces[-1]
        if last.duration_s is not None:
            duration_s = last_offset + last.duration_s
        elif cues:
            duration_s = max(cue.end for cue in cues)
    document: str | dict[str, Any]
    if fmt == "srt":
        document = format_srt(cues or [])
    elif fmt == "vtt":
        document = format_vtt(cues or [])
    elif fmt == "json":
        document = {"text": text, "language": language, "segments": _segments(cues)}
    elif fmt == "verbose_json":
        document = _merge_verbose(pieces, text, language, duration_s)
    else:
        document = text
    return Transcript(
        model=model,
        format=fmt,
        document=document,
        text=text,
        language=language,
        duration_s=duration_s,
        chunks=len(pieces),
        input_tokens=_total([r.input_tokens for r in results]),
        output_tokens=_total([r.output_tokens for r in results]),
        billed_seconds=_total([r.billed_seconds for r in results]),
    )


def _segments(cues: list[Cue] | None) -> list[dict[str, Any]] | None:
    if cues is None:
        return None
    return [{"start": round(c.start, 3), "end": round(c.end, 3), "text": c.text} for c in cues]


def _merge_verbose(
    pieces: Sequence[tuple[float, PieceResult]], text: str, language: str | None, duration_s: float | None
) -> dict[str, Any]:
    """whisper's verbose_json of every piece as one document: times shifted, segment ids renumbered."""
    if len(pieces) == 1 and pieces[0][1].verbose is not None:
        return pieces[0][1].verbose  # type: ignore[return-value]
    merged: dict[str, Any] = {"task": "transcribe", "language": language, "duration": duration_s, "text": text}
    segments: list[dict[str, Any]] = []
    words: list[dict[str, Any]] = []
    for offset, result in pieces:
        verbose = result.verbose or {}
        for segment in verbose.get("segments") or ():
            moved = {**segment, "id": len(segments)}
            for key in ("start", "end"):
                if isinstance(moved.get(key), (int, float)):
                    moved[key] = round(moved[key] + offset, 3)
            segments.append(moved)
        for word in verbose.get("words") or ():
            moved = dict(word)
            for key in ("start", "end"):
                if isinstance(moved.get(key), (int, float)):
                    moved[key] = round(moved[key] + offset, 3)
            words.append(moved)
    merged["segments"] = segments
    if words:
        merged["words"] = words
    return merged
