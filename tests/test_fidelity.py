"""What mmcli keeps and says stays true to what the user wrote and the provider did:
redaction that never changes a user's words, debug output without keys and with
the right exit code, a cache that tells servers apart, a session store that
upgrades old files, and Google logins that expire told as configuration.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.fakes import FakeOpenAI, Reply

# The answer-fidelity and signal paths are checked in-process here; test_worker re-runs some through the worker.
pytestmark = [pytest.mark.in_process, pytest.mark.in_pytest]


def _stored_texts(env: dict[str, str]) -> list[str]:
    path = Path(env["MMCLI_DATA_DIR"]) / "sessions.sqlite3"
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT parts FROM messages ORDER BY id").fetchall()
    return ["".join(p.get("text", "") for p in json.loads(parts)) for (parts,) in rows]


# --- redaction ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("variable", "placeholder"), [
    ("MMCLI_COMPAT_API_KEY", "EMPTY"),
    ("OPENAI_API_KEY", "test"),
    ("MMCLI_COMPAT_API_KEY", "ollama"),
])
def test_a_placeholder_key_never_changes_what_the_user_wrote(run_mmcli, mmcli_env, fake_openai, variable, placeholder):
    mmcli_env[variable] = placeholder
    prompt = "Write a unit test for the test runner in pytest; EMPTY lists are fine, ollama too."
    model = "compat:llama3" if variable.startswith("MMCLI") else "gpt-4o-mini"
    done = run_mmcli(["chat", "-m", model, "-S", "words", prompt], mmcli_env)
    assert done.returncode == 0, done.stderr
    assert _stored_texts(mmcli_env)[0] == prompt
    # and the next turn sends the user's own words back
    run_mmcli(["chat", "-S", "words", "And again?"], mmcli_env)
    sent = fake_openai.generation_requests[-1].json["messages"]
    assert sent[0]["content"] == prompt


def test_key_shaped_words_are_not_secrets_but_real_keys_are(run_mmcli, mmcli_env, fake_openai):
    real = "sk-proj-" + "Ab3" * 20
    prompt = f"Build an sk-learn-compatible-pipeline; my key is {real}."
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "-S", "k", prompt], mmcli_env)
    assert done.returncode == 0, done.stderr
    stored = _stored_texts(mmcli_env)[0]
    assert "sk-learn-compatible-pipeline" in stored
    assert real not in stored and "***" in stored


def test_debug_traceback_is_redacted_and_keeps_the_exit_code(run_mmcli, mmcli_env, fake_openai):
    key = mmcli_env["OPENAI_API_KEY"]
    fake_openai.queue(Reply(status=401, error_message=f"Incorrect API key provided: {key}"))
    mmcli_env["MMCLI_DEBUG"] = "1"
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Hi"], mmcli_env)
    assert done.returncode == 3
    assert "Traceback" in done.stderr
    assert key not in done.stderr and "***" in done.stderr


# --- cache key ------------------------------------------------------------------------------------


def test_the_same_model_on_another_server_is_not_a_cache_hit(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(text="Answer from server A."))
    first = run_mmcli(["chat", "-m", "compat:llama3", "Same question"], mmcli_env)
    assert first.stdout == "Answer from server A.\n"

    other = FakeOpenAI()
    other.start()
    try:
        other.queue(Reply(text="Answer from server B."))
        mmcli_env["MMCLI_COMPAT_BASE_URL"] = other.base_url
        second = run_mmcli(["chat", "-m", "compat:llama3", "Same question"], mmcli_env)
    finally:
        other.stop()
    assert second.stdout == "Answer from server B.\n"
    # and back on server A, its own answer is still cached
    mmcli_env["MMCLI_COMPAT_BASE_URL"] = fake_openai.base_url
    third = run_mmcli(["chat", "-m", "compat:llama3", "Same question"], mmcli_env)
    assert third.stdout == "Answer from server A.\n" and len(fake_openai.generation_requests) == 1


# --- session store migrations ---------------------------------------------------------------------

# The sessions file as mmcli 0.1.0 wrote it (schema version 1, before endings were kept).
_VERSION_1 = (
    "CREATE TABLE sessions (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, model TEXT NOT NULL, system TEXT,"
    " created_at REAL NOT NULL, updated_at REAL NOT NULL)",
    "CREATE INDEX sessions_updated ON sessions(updated_at)",
    "CREATE TABLE messages (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id)"
    " ON DELETE CASCADE, seq INTEGER NOT NULL, role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),"
    " model TEXT, incomplete INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, parts TEXT NOT NULL,"
    " UNIQUE (session_id, seq))",
    "CREATE TABLE media (sha256 TEXT PRIMARY KEY, mime_type TEXT NOT NULL, data BLOB NOT NULL)",
)


def test_a_data_dir_from_the_previous_schema_opens_and_upgrades_without_loss(run_mmcli, mmcli_env, fake_openai):
    data = Path(mmcli_env["MMCLI_DATA_DIR"])
    data.mkdir(mode=0o700)
    with sqlite3.connect(data / "sessions.sqlite3") as conn:
        for statement in _VERSION_1:
            conn.execute(statement)
        conn.execute("INSERT INTO sessions VALUES (1, 'old-trip', 'openai:gpt-4o-mini', NULL, 1.0, 2.0)")
        rows = [(1, "user", "Where to in May?", 0), (2, "assistant", "Lisbon.", 0), (3, "user", "And June?", 0),
                (4, "assistant", "Port", 1)]
        for seq, role, text, incomplete in rows:
            conn.execute(
                "INSERT INTO messages (session_id, seq, role, model, incomplete, created_at, parts)"
                " VALUES (1, ?, ?, 'openai:gpt-4o-mini', ?, 1.5, ?)",
                (seq, role, incomplete, json.dumps([{"kind": "text", "text": text}])),
            )
        conn.execute("PRAGMA user_version=1")

    shown = run_mmcli(["sessions", "show", "old-trip"], mmcli_env)
    assert shown.returncode == 0, shown.stderr
    assert "Lisbon." in shown.stdout and "And June?" in shown.stdout

    fake_openai.queue(Reply(text="Oslo."))
    done = run_mmcli(["chat", "-S", "old-trip", "And July?"], mmcli_env)
    assert done.returncode == 0, done.stderr
    sent = [m["content"] for m in fake_openai.generation_requests[-1].json["messages"]]
    assert sent[:4] == ["Where to in May?", "Lisbon.", "And June?", "Port"]
    with sqlite3.connect(data / "sessions.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4  # 2: endings, 3: search, 4: options
        assert conn.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'lisbon'").fetchall() == [(2,)]
        endings = conn.execute("SELECT seq, incomplete, finish_reason FROM messages ORDER BY seq").fetchall()
    assert endings[:4] == [(1, 0, None), (2, 0, None), (3, 0, None), (4, 1, None)]
    assert endings[5] == (6, 0, "stop")


# --- Google logins --------------------------------------------------------------------------------


class _RefusingTokenServer(ThreadingHTTPServer):
    """An OAuth token endpoint that refuses every grant, as Google does for a revoked login."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.dumps({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def _service_account_file(path: Path, token_uri: str) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "demo-project", "private_key_id": "k1", "private_key": pem,
        "client_email": "mmcli-test@demo-project.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": token_uri,
    }))
    return path


def test_an_expired_google_login_is_a_configuration_error_with_the_fix(run_mmcli, mmcli_env, tmp_path, fake_gemini):
    server = _RefusingTokenServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        token_uri = f"http://127.0.0.1:{server.server_address[1]}/token"
        mmcli_env.pop("VERTEX_API_KEY")
        mmcli_env.update(
            GOOGLE_APPLICATION_CREDENTIALS=str(_service_account_file(tmp_path / "sa.json", token_uri)),
            VERTEX_PROJECT_ID="demo-project",
            VERTEX_LOCATION="us-central1",
        )
        done = run_mmcli(["chat", "-m", "vertex:gemini-2.5-flash", "--fallback", "gpt-4o-mini", "Hi"], mmcli_env)
    finally:
        server.shutdown()
    assert done.returncode == 3, done.stderr
    assert "gcloud auth application-default login" in done.stderr
    assert "falling back" not in done.stderr
    assert fake_gemini.generation_requests == []


def test_a_timeout_says_how_many_attempts_and_how_long_in_all(run_mmcli, mmcli_env, fake_openai):
    fake_openai.default = Reply(hang=True)
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "--timeout", "0.5", "Hi"], mmcli_env)
    assert done.returncode == 1
    sentence = done.stderr.strip()
    assert "did not answer within 0.5 s on any of 3 attempts (" in sentence and " s in all)" in sentence
    assert len(fake_openai.generation_requests) == 3


def test_a_providers_own_punctuation_is_not_doubled(run_mmcli, mmcli_env, fake_openai):
    fake_openai.queue(Reply(status=400, error_message="Something went wrong. Sorry about that!"))
    done = run_mmcli(["chat", "-m", "gpt-4o-mini", "Hi"], mmcli_env)
    assert done.returncode == 1
    assert done.stderr.strip().endswith("Something went wrong. Sorry about that.")
