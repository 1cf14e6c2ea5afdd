"""`mmcli live`: the real-time conversation loop, its audio in and out, and its transcript.

Each provider's Live/Realtime wire lives in ``mmcli/providers`` (``gemini_live``,
``openai_realtime``); this package only sees the neutral events of ``live_base``.
"""
