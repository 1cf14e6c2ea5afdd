"""What each provider's chat endpoint accepts as media, written down as data.

Owned by the providers (each provider class points at its entry as
``media_limits``); their callers hand them to ``mmcli.media``, which shapes
what is sent to fit them (media sits below the providers and names none). Each
entry cites where the number comes from; where a provider documents no
limit, the value is our own choice and the comment says so.

Byte limits are for the raw file; where a provider counts base64 text instead,
the entry converts (base64 is 4/3 of the raw size). Nothing here imports
anything heavy: the tables cost nothing at start-up.
"""

from __future__ import annotations

from dataclasses import replace

from ..media.limits import GIF, HEIC, HEIF, JPEG, MB, PNG, WEBP, ProviderLimits

# Gemini API video understanding (ai.google.dev/gemini-api/docs/video-understanding):
# these MIME types; inline data up to the 20 MB request limit, the Files API
# beyond (up to 2 GB per file).
GEMINI_VIDEO_TYPES = frozenset(
    {"video/mp4", "video/mpeg", "video/mov", "video/avi", "video/x-flv", "video/mpg", "video/webm",
     "video/wmv", "video/3gpp"}
)
VIDEO_SPELLING = (("video/quicktime", "video/mov"),)

# Anthropic Messages API, "Vision" guide (docs.anthropic.com/en/docs/build-with-claude/vision):
# JPEG, PNG, GIF and WebP; images beyond 1568 px on the long edge or about
# 1,600 tokens (w*h/750 = 1.2 MP) are scaled down server-side, so larger ones
# only cost upload time; hard maximum 8000x8000 (2000x2000 with more than 20
# images, which 1568 also satisfies). 5 MB per image, counted on the base64
# text, hence 3/4 of it raw. Request size limit 32 MB ("API errors" page).
ANTHROPIC = ProviderLimits(
    label="Anthropic",
    image_types=frozenset({JPEG, PNG, GIF, WEBP}),
    animated_gif=True,
    max_long_edge=1568,
    max_short_edge=None,
    max_pixels=1_200_000,
    max_image_bytes=5 * MB * 3 // 4,
    max_request_bytes=32 * MB * 3 // 4,
    audio_types=frozenset(),
    max_images=100,  # "up to 100 images in a single API request"
)

# OpenAI "Images and vision" guide (platform.openai.com/docs/guides/images-vision),
# "Image input requirements": PNG, JPEG, WEBP, non-animated GIF; up to 20 MB
# per image and 50 MB of image bytes per request. With detail "high" an image
# is fitted within 2048x2048 and then its shortest side to 768 px, so
# anything larger is wasted upload. Chat "input_audio" (API reference,
# chat/create) takes only format "wav" or "mp3".
OPENAI = ProviderLimits(
    label="OpenAI",
    image_types=frozenset({JPEG, PNG, WEBP, GIF}),
    animated_gif=False,
    max_long_edge=2048,
    max_short_edge=768,
    max_pixels=None,
    max_image_bytes=20 * MB,
    max_request_bytes=50 * MB,
    audio_types=frozenset({"audio/wav", "audio/mpeg"}),
)

# OpenAI speech-to-text guide (platform.openai.com/docs/guides/speech-to-text):
# the transcriptions endpoint takes flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav
# and webm files up to 25 MB.
OPENAI_TRANSCRIPTION_AUDIO_TYPES = frozenset(
    {"audio/flac", "audio/mpeg", "audio/mp4", "audio/ogg", "audio/wav", "audio/webm"}
)
OPENAI_TRANSCRIPTION_MAX_BYTES = 25 * MB
# The transcription endpoint as media.prepare sees it: chat's limits with its wider audio list.
OPENAI_TRANSCRIPTION = replace(OPENAI, audio_types=OPENAI_TRANSCRIPTION_AUDIO_TYPES)

# Gemini API (ai.google.dev/gemini-api/docs/image-understanding, .../audio,
# .../document-processing): images PNG, JPEG, WEBP, HEIC, HEIF (no GIF);
# larger images are scaled down to fit 3072x3072; audio WAV, MP3, AIFF, AAC,
# OGG, FLAC with the MIME spellings listed there. Inline data shares one
# 20 MB limit for the whole request, base64 included, hence 3/4 raw.
GEMINI = ProviderLimits(
    label="Gemini",
    image_types=frozenset({JPEG, PNG, WEBP, HEIC, HEIF}),
    animated_gif=False,
    max_long_edge=3072,
    max_short_edge=None,
    max_pixels=None,
    max_image_bytes=20 * MB * 3 // 4,
    max_request_bytes=20 * MB * 3 // 4,
    audio_types=frozenset({"audio/wav", "audio/mp3", "audio/aiff", "audio/aac", "audio/ogg", "audio/flac"}),
    audio_spelling=(("audio/mpeg", "audio/mp3"),),
    video_types=GEMINI_VIDEO_TYPES,
    video_spelling=VIDEO_SPELLING,
    video_upload=True,
)

# Vertex AI (cloud.google.com/vertex-ai/generative-ai/docs/multimodal/image-understanding
# and .../audio-understanding): same image types, 7 MB per inline image;
# audio/x-aac, flac, mp3, m4a, mpeg, mpga, mp4, ogg, pcm, wav, webm (no AIFF).
# The request limit is model-dependent; 20 MB is the conservative figure the
# Gemini family shares.
VERTEX = ProviderLimits(
    label="Vertex AI",
    image_types=frozenset({JPEG, PNG, WEBP, HEIC, HEIF}),
    animated_gif=False,
    max_long_edge=3072,
    max_short_edge=None,
    max_pixels=None,
    max_image_bytes=7 * MB,
    max_request_bytes=20 * MB * 3 // 4,
    audio_types=frozenset(
        {
            "audio/x-aac",
            "audio/flac",
            "audio/mpeg",
            "audio/mp4",
            "audio/ogg",
            "audio/wav",
            "audio/webm",
        }
    ),
    audio_spelling=(("audio/aac", "audio/x-aac"),),
    # Vertex takes the same video types inline; mmcli has no Cloud Storage
    # bucket to stage larger ones, so beyond the inline limit it refuses.
    video_types=GEMINI_VIDEO_TYPES,
    video_spelling=VIDEO_SPELLING,
)

# Perplexity "Image attachments" guide (docs.perplexity.ai): base64 images
# PNG, JPEG, WEBP, GIF up to 50 MB each. No pixel limit is documented; the
# 2048 px cap is our choice, as the models behind Sonar downscale beyond it.
PERPLEXITY = ProviderLimits(
    label="Perplexity",
    image_types=frozenset({JPEG, PNG, WEBP, GIF}),
    animated_gif=True,
    max_long_edge=2048,
    max_short_edge=None,
    max_pixels=None,
    max_image_bytes=50 * MB,
    max_request_bytes=None,
    audio_types=frozenset(),
)

# Ollama's OpenAI-compatible endpoint (github.com/ollama/ollama docs/openai.md)
# takes base64 images; JPEG and PNG are what every vision model there decodes.
# No size limit is documented; 2048 px is our choice, since local vision
# models tile or rescale to far less and every extra pixel costs memory.
OLLAMA = ProviderLimits(
    label="Ollama",
    image_types=frozenset({JPEG, PNG}),
    animated_gif=False,
    max_long_edge=2048,
    max_short_edge=None,
    max_pixels=None,
    max_image_bytes=20 * MB,
    max_request_bytes=None,
    audio_types=frozenset(),
)

# Any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio): JPEG and
# PNG are the formats all of them decode (llama.cpp has no WebP), and the
# OpenAI "input_audio" shape allows wav and mp3. Sizes are our choice, as for
# Ollama.
COMPAT = ProviderLimits(
    label="the OpenAI-compatible server",
    image_types=frozenset({JPEG, PNG}),
    animated_gif=False,
    max_long_edge=2048,
    max_short_edge=None,
    max_pixels=None,
    max_image_bytes=20 * MB,
    max_request_bytes=None,
    audio_types=frozenset({"audio/wav", "audio/mpeg"}),
)

BY_PROVIDER: dict[str, ProviderLimits] = {
    "anthropic": ANTHROPIC,
    "openai": OPENAI,
    "gemini": GEMINI,
    "vertex": VERTEX,
    "perplexity": PERPLEXITY,
    "ollama": OLLAMA,
    "compat": COMPAT,
}
