"""Speech to text for `mmcli transcribe`, the provider-neutral part: which
models transcribe (`models`, as the providers declare it), cutting long audio
(`chunking`), subtitles (`subtitles`), joining pieces (`result`) and running
one transcription through the cache and fallbacks (`job`). Each provider's
own speech-to-text call lives in `providers/` (`providers/speech.py`).

Nothing here is imported until `mmcli transcribe` runs; the SDKs only when a
request is actually made (never on a cache hit).
"""
