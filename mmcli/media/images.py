"""Images: validating them with Pillow, and shaping them for one provider
(converted, rotated upright, downscaled) only where its limits require.

Pillow (and the HEIC plugin, only for HEIC files) is imported inside the
functions, so that importing mmcli.media costs nothing.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from typing import TYPE_CHECKING

from ..conversation import Part
from ..errors import UsageError
from .describe import display_name, mb, reason_text
from .limits import GIF, JPEG, PNG, WEBP, ProviderLimits
from .sniff import Sniffed

if TYPE_CHECKING:
    from PIL import Image

# JPEG quality for re-encoded images: visually lossless for a model, and a
# third of the size of quality 95.
_JPEG_QUALITY = 85
# A JPEG is decoded at 1/2, 1/4 or 1/8 scale straight from its DCT data. When
# that scale lands within this fraction below the target size, the scaled
# decode is used as it is: it saves a whole resampling pass and loses at most
# 10% of the linear resolution the provider would have kept.
_DRAFT_SLACK = 0.9

_ORIENTATION_TAG = 0x0112
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


def image_size(part: Part) -> tuple[int, int]:
    """Width and height in pixels as stored (before any EXIF rotation), read from the header."""
    with _open_stored(part) as image:
        return image.size


def _quiet_pillow() -> None:
    """Once per process: silence Pillow's warnings (the decompression-bomb one, which
    _open_image turns into a refusal itself; a truncated TIFF's UserWarning, which
    would print its source line before mmcli's one sentence).

    Not warnings.catch_warnings() around each open: that swaps process-wide
    state, and images are prepared from several threads at once.
    """
    global _quieted
    if _quieted:
        return
    _quieted = True
    warnings.filterwarnings("ignore", module=r"PIL(\.|$)")
    warnings.filterwarnings("ignore", category=UserWarning, message=r".*(Truncated|Corrupt|EXIF|exif).*")


_quieted = False


def _register_heif(data: bytes) -> None:
    """HEIC/HEIF photos (what phones take) through pillow-heif, imported only for them."""
    global _heif_registered
    if _heif_registered or data[4:8] != b"ftyp" or data[8:12] not in _HEIF_BRANDS:
        return
    _heif_registered = True
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


_heif_registered = False


def _open_image(data: bytes, name: str) -> Image.Image:
    """Open (header only) with Pillow, refusing decompression bombs as errors."""
    from PIL import Image

    _quiet_pillow()
    _register_heif(data)
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:  # over twice Pillow's limit
        raise UsageError(_bomb_message(name, str(error))) from None
    pixels = image.width * image.height
    if Image.MAX_IMAGE_PIXELS is not None and pixels > Image.MAX_IMAGE_PIXELS:  # over the limit itself
        raise UsageError(_bomb_message(name, f"({pixels} pixels)"))
    return image


def _bomb_message(name: str, pillow_message: str) -> str:
    match = re.search(r"\((\d+) pixels\)", pillow_message)
    return _bomb_text(name, int(match.group(1)) if match else None)


def _bomb_text(name: str, pixels: int | None) -> str:
    declared = f" ({pixels / 1e6:,.0f} megapixels)" if pixels else ""
    return (
        f"{name} declares an image too large to decode safely{declared}; "
        f"mmcli refuses images above {_MAX_PIXELS / 1e6:,.0f} megapixels."
    )


def sniff_with_pillow(data: bytes) -> Sniffed | None:
    """Formats without a magic number mmcli knows (ICO, TGA, PPM, ...) but Pillow reads."""
    from PIL import Image

    try:
        with _open_image(data, "") as image:
            fmt = image.format or "unknown"
    except UsageError:
        return Sniffed("image", "image/x-unknown", "an image")
    except Exception:
        return None
    mime = Image.MIME.get(fmt) or f"image/x-{fmt.lower()}"
    article = "an" if fmt[:1] in "AEIOU" else "a"
    return Sniffed("image", mime, f"{article} {fmt} image")


# Pillow's own decompression-bomb threshold (Image.MAX_IMAGE_PIXELS: a quarter gigabyte of RGB).
_MAX_PIXELS = 1024 * 1024 * 1024 // 4 // 3


def validate(data: bytes, name: str, found: Sniffed) -> None:
    """Cheap structural checks: header, truncation, chunk CRCs; no full decode of big images.

    JPEG and PNG, nearly every photo and screenshot, are walked by hand, so
    that attaching one (and so a cache hit) does not import Pillow at all.
    """
    if found.mime_type in (JPEG, PNG):
        walk = _jpeg_walk if found.mime_type == JPEG else _png_walk
        problem, size = walk(data)
        if problem is None and size is not None and size[0] * size[1] > _MAX_PIXELS:
            raise UsageError(_bomb_text(name, size[0] * size[1]))
        if problem is not None:
            raise UsageError(f"{name} is {problem}.")
        return
    try:
        image = _open_image(data, name)
    except UsageError:
        raise
    except Exception:
        if found.mime_type in ("image/heic", "image/heif", "image/avif"):
            raise UsageError(
                f"{name} is {found.label}, which this installation cannot read; "
                "convert it to JPEG or PNG (or install pillow-heif)."
            ) from None
        raise UsageError(f"{name} is not a valid image (the {_short(found)} data is corrupt).") from None
    with image:
        problem = _image_problem(image, data)
    if problem is not None:
        raise UsageError(f"{name} is {problem}.")


def _short(found: Sniffed) -> str:
    return found.label.split()[1] if found.label.startswith(("a ", "an ")) else found.label


def _image_problem(image: Image.Image, data: bytes) -> str | None:
    fmt = image.format
    label = fmt if fmt not in (None, "MPO") else "JPEG"
    try:
        if fmt in ("JPEG", "MPO"):
            return _jpeg_problem(data)
        if fmt == "PNG":
            image.verify()  # walks every chunk and checks its CRC without decoding pixels
            return None
        if fmt == "WEBP":
            declared = struct.unpack_from("<I", data, 4)[0] + 8
            return f"a truncated {label} image" if declared > len(data) else None
        image.load()  # rarer formats: a full decode is the only check there is
    except Exception as error:
        text = str(error).lower()
        if "truncat" in text or isinstance(error, EOFError):
            return f"a truncated {label} image"
        return f"a corrupt {label} image"
    return None


_JPEG_STANDALONE = set(range(0xD0, 0xD8)) | {0x01}
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_walk(data: bytes) -> tuple[str | None, tuple[int, int] | None]:
    """(what is wrong or None, (width, height) from the frame header) of a JPEG, by its markers."""
    size = None
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker in _JPEG_STANDALONE or marker == 0xFF:
            at += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack_from(">H", data, at + 2)[0]
        if length < 2:
            return "a corrupt JPEG image", None
        if marker in _JPEG_FRAMES and at + 9 <= len(data):
            height, width = struct.unpack_from(">HH", data, at + 5)
            size = (width, height)
            if not width or not height:
                return "a corrupt JPEG image", None
        if marker == 0xDA:
            break
        at += 2 + length
    if size is None:
        return ("a truncated JPEG image" if at + 4 > len(data) else "a corrupt JPEG image"), None
    return _jpeg_problem(data), size


def _png_walk(data: bytes) -> tuple[str | None, tuple[int, int] | None]:
    """(what is wrong or None, (width, height)) of a PNG: every chunk's length and CRC, up to IEND."""
    import zlib

    at, size = 8, None
    while True:
        if at + 12 > len(data):
            return "a truncated PNG image", size
        length = struct.unpack_from(">I", data, at)[0]
        kind = data[at + 4 : at + 8]
        end = at + 8 + length
        if end + 4 > len(data):
            return "a truncated PNG image", size
        if zlib.crc32(data[at + 4 : end]) != struct.unpack_from(">I", data, end)[0]:
            return "a corrupt PNG image", size
        if kind == b"IHDR" and length >= 8:
            size = struct.unpack_from(">II", data, at + 8)
        if size is None:
            return "a corrupt PNG image", None
        if kind == b"IEND":
            return None, size
        at = end + 4


def _jpeg_problem(data: bytes) -> str | None:
    """Walk the JPEG markers to the first scan, then require an end-of-image marker after it.

    Entropy-coded data escapes every 0xFF byte, so an FF D9 after the scan
    header can only be the real end of the image: its absence means the file
    was cut short. Trailing data after it (e.g. motion photos) is allowed.
    """
    at, size = 2, len(data)
    while at < size:
        if data[at] != 0xFF:
            return "a corrupt JPEG image"
        while at < size and data[at] == 0xFF:
            at += 1
        if at >= size:
            break
        marker = data[at]
        at += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD9 or at + 2 > size:
            break
        length = struct.unpack_from(">H", data, at)[0]
        if marker == 0xDA:
            scan = at + length
            return None if data.find(b"\xff\xd9", scan) != -1 else "a truncated JPEG image"
        at += length
    return "a truncated JPEG image"




def prepare_image(part: Part, limits: ProviderLimits) -> Part:
    name = display_name(part.source)
    with _open_stored(part) as image:
        orientation = _orientation(image)
        swapped = orientation in (5, 6, 7, 8)
        upright = (image.height, image.width) if swapped else image.size
        target = _fit(upright, limits)
        if _passes_through(part, image, limits, target, orientation):
            return part
        out_type = _output_type(part.mime_type, image, limits)
        stored_target = None if target is None else ((target[1], target[0]) if swapped else target)
        # A CMYK or grayscale profile would mislabel the RGB pixels written out.
        icc = image.info.get("icc_profile") if image.mode in ("RGB", "RGBA", "P", "PA") else None
        try:
            picture = _decode_scaled(image, stored_target)
        except Exception as error:
            raise UsageError(f"{name} could not be decoded ({reason_text(error)}).") from None
    picture = _apply_orientation(picture, orientation)
    data, out_type = _encode_within(picture, out_type, limits, name, icc)
    return Part(kind="image", data=data, mime_type=out_type, source=part.source)


def _open_stored(part: Part) -> Image.Image:
    """Open a part that was loaded earlier (perhaps in another run, from a session)."""
    name = display_name(part.source)
    try:
        return _open_image(part.data, name)
    except UsageError:
        raise
    except Exception as error:
        raise UsageError(f"{name} could not be decoded as an image ({reason_text(error)}).") from None


def _orientation(image: Image.Image) -> int:
    # A PNG's getexif() decodes the whole image when the eXIf chunk comes
    # after the pixels; such files are rare enough to skip.
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _fit(size: tuple[int, int], limits: ProviderLimits) -> tuple[int, int] | None:
    """The largest size within the provider's limits, or None when ``size`` already fits."""
    width, height = size
    scale = min(1.0, limits.max_long_edge / max(width, height))
    if limits.max_short_edge is not None:
        scale = min(scale, limits.max_short_edge / min(width, height))
    if limits.max_pixels is not None:
        scale = min(scale, (limits.max_pixels / (width * height)) ** 0.5)
    if scale >= 1.0:
        return None
    return max(1, int(width * scale)), max(1, int(height * scale))


def _passes_through(
    part: Part, image: Image.Image, limits: ProviderLimits, target: tuple[int, int] | None, orientation: int
) -> bool:
    if target is not None or orientation != 1 or len(part.data) > limits.max_image_bytes:
        return False
    if part.mime_type not in limits.image_types or image.mode == "CMYK":
        return False
    if part.mime_type == GIF and not limits.animated_gif:
        return not getattr(image, "is_animated", False)
    return True


def _output_type(source_type: str, image: Image.Image, limits: ProviderLimits) -> str:
    """Keep JPEG, PNG and WebP when accepted; otherwise PNG for transparency, JPEG for the rest."""
    if source_type in (JPEG, PNG, WEBP) and source_type in limits.image_types:
        return source_type
    if source_type == GIF or image.has_transparency_data:
        return PNG  # lossless for palette graphics, and keeps alpha
    return JPEG


def _decode_scaled(image: Image.Image, target: tuple[int, int] | None) -> Image.Image:
    """Decode at no more than ``target`` size, as cheaply as the format allows."""
    from PIL import Image

    if target is not None and image.format in ("JPEG", "MPO"):
        # Ask libjpeg for a DCT-domain reduction a little below the target, so
        # that a scale landing within _DRAFT_SLACK needs no resampling at all.
        wanted = (max(1, int(target[0] * _DRAFT_SLACK)), max(1, int(target[1] * _DRAFT_SLACK)))
        image.draft("RGB" if image.mode == "RGB" else None, wanted)
    image.load()
    picture = _displayable(image)
    if target is None or (picture.width <= target[0] and picture.height <= target[1]):
        return picture
    return picture.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _displayable(image: Image.Image) -> Image.Image:
    """Convert to one of the 8-bit modes every encoder and model handles."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I;16"):
        # A plain convert would clip 16-bit values to white; scale them down instead.
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _apply_orientation(picture: Image.Image, orientation: int) -> Image.Image:
    from PIL import Image

    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return picture if method is None else picture.transpose(method)


def _encode(picture: Image.Image, mime_type: str, quality: int, icc: bytes | None) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc  # keeps wide-gamut (Display P3) photos' colours right
    if mime_type == JPEG:
        if picture.mode not in ("RGB", "L"):
            picture = picture.convert("RGB")
        picture.save(buffer, "JPEG", quality=quality, **options)
    elif mime_type == WEBP:
        picture.save(buffer, "WEBP", quality=quality, **options)
    else:
        picture.save(buffer, "PNG", **options)
    return buffer.getvalue()


def _encode_within(
    picture: Image.Image, mime_type: str, limits: ProviderLimits, name: str, icc: bytes | None
) -> tuple[bytes, str]:
    """Encode, then trade quality, format and finally size until the bytes fit."""
    from PIL import Image

    if mime_type == JPEG and picture.mode in ("RGBA", "LA"):
        mime_type = PNG  # never drop transparency into a JPEG
    quality = _JPEG_QUALITY
    for _ in range(10):
        data = _encode(picture, mime_type, quality, icc)
        if len(data) <= limits.max_image_bytes:
            return data, mime_type
        if mime_type == PNG and not picture.has_transparency_data and JPEG in limits.image_types:
            mime_type = JPEG
        elif mime_type in (JPEG, WEBP) and quality > 60:
            quality -= 10
        else:
            shrink = max(0.5, (limits.max_image_bytes / len(data)) ** 0.5 * 0.9)
            size = (max(1, int(picture.width * shrink)), max(1, int(picture.height * shrink)))
            picture = picture.resize(size, Image.Resampling.LANCZOS)
    raise UsageError(f"{name} cannot be made smaller than the {mb(limits.max_image_bytes)} {limits.label} accepts.")
