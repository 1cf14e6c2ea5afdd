"""Speech to text for `mmcli transcribe`: provider calls (`openai`, `gemini`),
cutting long audio (`chunking`), subtitles (`subtitles`), joining pieces
(`result`) and running one transcription (`job`).

Nothing here is imported until `mmcli transcribe` runs; the SDKs only when a
request is actually made (never on a cache hit).
"""
