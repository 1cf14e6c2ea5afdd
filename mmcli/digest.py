"""SHA-256 hex digests, without loading OpenSSL for small inputs.

`import hashlib` loads OpenSSL's libcrypto (about 3 ms), which every one-shot
would pay just to hash its cache key. CPython's own SHA-256 module loads in
microseconds and gives the same digest; OpenSSL is several times faster per
byte, so it still hashes what is large (images, audio, video).
"""

from __future__ import annotations

from functools import cache
from typing import Any

_LARGE = 256 * 1024  # bytes from which OpenSSL's speed outweighs its loading time


@cache
def _builtin_sha256() -> Any:
    try:
        from _sha2 import sha256  # CPython 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # CPython 3.10, 3.11
        except ImportError:  # another Python: hashlib it is
            from hashlib import sha256
    return sha256


def sha256_hex(data: bytes) -> str:
    if len(data) >= _LARGE:
        import hashlib

        return hashlib.sha256(data).hexdigest()
    return _builtin_sha256()(data).hexdigest()
