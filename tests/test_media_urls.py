"""Media URLs through the CLI: the query string (presigned tokens) reaches the
server but never the session, `sessions show` or `sessions export`."""

from __future__ import annotations

import json

import pytest

from tests.fakes.media_server import media_server

pytestmark = pytest.mark.in_pytest


def test_a_presigned_url_is_stored_and_shown_without_its_token(run_mmcli, mmcli_env, fake_openai):
    with media_server() as (base, paths):
        url = f"{base}/cat.png?X-Amz-Signature=s3cr3t-sig&token=s3cr3t-token"
        done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "cats", "-i", url, "What is it?"], mmcli_env)
        assert done.returncode == 0, done.stderr
        assert paths == ["/cat.png?X-Amz-Signature=s3cr3t-sig&token=s3cr3t-token"]  # the server got the token
    shown = run_mmcli(["sessions", "show", "cats"], mmcli_env)
    exported = run_mmcli(["sessions", "export", "cats", "-f", "json"], mmcli_env)
    assert shown.returncode == 0 and exported.returncode == 0, shown.stderr + exported.stderr
    assert f"{base}/cat.png" in shown.stdout
    for output in (shown.stdout, exported.stdout, done.stderr):
        assert "s3cr3t" not in output
    assert f"{base}/cat.png" in json.dumps(json.loads(exported.stdout))
