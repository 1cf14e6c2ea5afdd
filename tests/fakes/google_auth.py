"""Application Default Credentials that work offline, for Vertex project mode.

google-auth always refreshes ``authorized_user`` credentials against Google's
real token endpoint (the file's ``token_uri`` is ignored), so instead the file
carries an access token that does not expire: no refresh, no network.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FAKE_ACCESS_TOKEN = "ya29.fake-vertex-access-token"


def write_adc_file(
    path: str | os.PathLike[str], token: str = FAKE_ACCESS_TOKEN, quota_project: str | None = None
) -> Path:
    """Write an ADC JSON; point GOOGLE_APPLICATION_CREDENTIALS at it."""
    info = {
        "type": "authorized_user",
        "client_id": "fake-client-id.apps.googleusercontent.com",
        "client_secret": "fake-client-secret",
        "refresh_token": "fake-refresh-token",
        "token": token,
        "expiry": "2999-01-01T00:00:00Z",
    }
    if quota_project:
        info["quota_project_id"] = quota_project
    target = Path(path)
    target.write_text(json.dumps(info), encoding="utf-8")
    target.chmod(0o600)
    return target
