"""Subtitle cues: SRT/WebVTT parsing and writing, shifting, renumbering, and
joining the transcripts of several pieces of one recording."""

from __future__ import annotations

import pytest

from mmcli.conversation import ModelRef
from mmcli.transcription.result import PieceResult, join
from mmcli.transcription.subtitles import (
    Cue,
    cues_from_segments,
    format_srt,
    format_timestamp,
    format_vtt,
    parse_srt,
    parse_timestamp,
    parse_vtt,
    shift,
)

WHISPER = ModelRef("openai", "whisper-1")


@pytest.mark.parametrize(
    ("seconds", "srt", "vtt"),
    [
        (0, "00:00:00,000", "00:00:00.000"),
        (1.0005, "00:00:01,000", "00:00:01.000"),  # rounds to the nearest millisecond
        (59.9996, "00:01:00,000", "00:01:00.000"),  # ...carrying into the minutes
        (3723.456, "01:02:03,456", "01:02:03.456"),
        (36000 * 3.5, "35:00:00,000", "35:00:00.000"),  # more than a day still counts hours
        (-0.2, "00:00:00,000", "00:00:00.000"),
    ],
)
def test_timestamps_are_written_to_each_spec(seconds, srt, vtt):
    assert format_timestamp(seconds) == srt
    assert format_timestamp(seconds, separator=".") == vtt


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("01:02:03,456", 3723.456), ("01:02:03.456", 3723.456), ("02:03.5", 123.5), ("7.25", 7.25), (4, 4.0)],
)
def test_timestamps_are_read_in_every_common_spelling(text, seconds):
    assert parse_timestamp(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "1:2:3:4", "a:b", "-1", "1::2", float("nan"), -3, True])
def test_unreadable_timestamps_are_refused(bad):
    with pytest.raises(ValueError):
        parse_timestamp(bad)


def test_srt_round_trip_renumbers_and_normalises():
    # Out-of-order numbers, CRLF, a BOM, trailing spaces and a two-line cue.
    provider = (
        "\ufeff7\r\n00:00:01,000 --> 00:00:02,500\r\nHello   \r\nthere\r\n\r\n"
        "9\r\n00:00:03,000 --> 00:00:04,000\r\nBye\r\n"
    )
    cues = parse_srt(provider)
    assert cues == [Cue(1.0, 2.5, "Hello\nthere"), Cue(3.0, 4.0, "Bye")]
    assert format_srt(cues) == (
        "1\n00:00:01,000 --> 00:00:02,500\nHello\nthere\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\nBye\n"
    )


def test_vtt_parsing_skips_header_notes_and_styles_and_keeps_cue_ids():
    document = (
        "WEBVTT - a title\n\nNOTE written by hand\nover two lines\n\nSTYLE\n::cue { color: red }\n\n"
        "intro\n00:01.000 --> 00:02.000 align:start\nFirst\n\n"
        "00:00:02.000 --> 00:00:03.000\nSecond\n"
    )
    assert parse_vtt(document) == [Cue(1.0, 2.0, "First"), Cue(2.0, 3.0, "Second")]


def test_vtt_output_has_the_header_and_dotted_times():
    text = format_vtt([Cue(0.5, 1.25, "One --> two"), Cue(61, 62, "Three")])
    assert text == (
        "WEBVTT\n\n"
        "00:00:00.500 --> 00:00:01.250\nOne -> two\n\n"
        "00:01:01.000 --> 00:01:02.000\nThree\n"
    )


def test_shifting_pieces_and_joining_them_numbers_cues_afresh():
    first = parse_srt("1\n00:00:00,500 --> 00:00:04,000\nA\n\n2\n00:00:04,000 --> 00:00:09,000\nB\n")
    second = parse_srt("1\n00:00:00,250 --> 00:00:03,000\nC\n")
    joined = format_srt(shift(first, 0) + shift(second, 600.0))
    assert joined == (
        "1\n00:00:00,500 --> 00:00:04,000\nA\n\n"
        "2\n00:00:04,000 --> 00:00:09,000\nB\n\n"
        "3\n00:10:00,250 --> 00:10:03,000\nC\n"
    )


def test_cues_that_end_before_they_start_are_repaired_and_empty_ones_dropped():
    cues = [Cue(5.0, 5.0, "stuck"), Cue(7.0, 6.0, "backwards"), Cue(8.0, 9.0, "   "), Cue(1.0, 2.0, "early\n\nline")]
    assert format_srt(cues) == (
        "1\n00:00:01,000 --> 00:00:02,000\nearly\nline\n\n"  # sorted, no blank line inside a cue
        "2\n00:00:05,000 --> 00:00:07,000\nstuck\n\n"  # lasts until the next cue
        "3\n00:00:07,000 --> 00:00:09,000\nbackwards\n"  # the last one gets a default length
    )


def test_segments_with_missing_or_odd_times_keep_every_word():
    cues = cues_from_segments([
        {"start": "00:01.5", "end": "00:03", "text": " Hi "},
        {"start": None, "end": 5, "text": "no start"},
        {"start": 6, "end": "soon", "text": "no end"},
        {"start": 7, "end": 8, "text": ""},
    ])
    assert cues == [Cue(1.5, 3.0, "Hi"), Cue(3.0, 5.0, "no start"), Cue(6.0, 6.0, "no end")]


def test_join_shifts_json_segments_and_merges_verbose_json():
    def verbose(text: str, end: float) -> dict:
        return {"task": "transcribe", "language": "english", "duration": end, "text": text,
                "segments": [{"id": 0, "start": 0.0, "end": end, "text": text}],
                "words": [{"word": text, "start": 0.0, "end": end}]}

    pieces = [
        (0.0, PieceResult("one", cues=[Cue(0.0, 2.0, "one")], verbose=verbose("one", 2.0), language="english",
                          billed_seconds=2.0)),
        (30.0, PieceResult("two", cues=[Cue(0.0, 1.5, "two")], verbose=verbose("two", 1.5), billed_seconds=1.5)),
    ]
    as_json = join(WHISPER, "json", pieces, duration_s=31.5)
    assert as_json.document == {
        "text": "one two",
        "language": "english",
        "segments": [{"start": 0.0, "end": 2.0, "text": "one"}, {"start": 30.0, "end": 31.5, "text": "two"}],
    }
    assert as_json.chunks == 2 and as_json.billed_seconds == 3.5 and as_json.input_tokens is None
    merged = join(WHISPER, "verbose_json", pieces, duration_s=31.5).document
    assert [(s["id"], s["start"], s["end"]) for s in merged["segments"]] == [(0, 0.0, 2.0), (1, 30.0, 31.5)]
    assert [(w["start"], w["end"]) for w in merged["words"]] == [(0.0, 2.0), (30.0, 31.5)]
    assert merged["text"] == "one two" and merged["duration"] == 31.5


def test_json_from_a_model_without_timestamps_has_null_segments():
    transcript = join(ModelRef("openai", "gpt-4o-mini-transcribe"), "json", [(0.0, PieceResult(" Hello. "))], None)
    assert transcript.document == {"text": "Hello.", "language": None, "segments": None}
    assert transcript.rendered().endswith("}\n")
