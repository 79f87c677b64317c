"""Shared fixtures: one trained model and one set of real servers per test session."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from bot.config import get_settings
from bot.store.db import init_db, session_scope
from tests.fakes import FakeTwilio, FakeWebhook

if TYPE_CHECKING:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "clinic.tar.gz"
API_TOKEN = "test-api-token"
# Shared secret between the test Rasa server and action server (bot/ops/action_server.py).
ACTION_TOKEN = "test-action-server-token-0123456789"
# Debian's Chromium, headless (Playwright never downloads a browser here); the
# flags keep it from reaching out to Google's services on a closed network.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# SMS channel settings of the test stack (tests/test_sms_channel.py signs with them).
SMS_ENV = {
    "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000test",
    "TWILIO_AUTH_TOKEN": "test-twilio-auth-token",
    "TWILIO_FROM_NUMBER": "+15550100100",
    "SMS_PUBLIC_URL": "https://sms.clinic.example.org/webhooks/twilio_sms/webhook",
    "SMS_ID_SECRET": "test-sms-id-secret-0123456789",
}


POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database on the local server, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"clinic_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(make_url(POSTGRES_ADMIN_URL).set(database=name))
    finally:
        from bot.store.db import get_engine

        get_engine.cache_clear()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 180.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} was up")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up")


@pytest.fixture
def webhook() -> Iterator[FakeWebhook]:
    fake = FakeWebhook()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A fresh SQLite database that `bot` uses by default; yields a session factory."""
    url = f"sqlite:///{tmp_path / 'unit.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    init_db(url)
    yield lambda: session_scope(url)
    get_settings.cache_clear()


@pytest.fixture
def settings_with_webhook(database, webhook: FakeWebhook, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Settings whose only staff destination is the fake webhook."""
    monkeypatch.setenv("STAFF_WEBHOOK_URL", webhook.url)
    for name in ("SMTP_HOST", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model `make test` trained; trained here once if pytest runs on its own."""
    if MODEL.exists():
        return MODEL
    out = tmp_path_factory.mktemp("models")
    subprocess.run([sys.executable, "-m", "bot", "content", "build"], cwd=ROOT, check=True)
    subprocess.run(
        [str(VENV_BIN / "rasa"), "train", "--fixed-model-name", "clinic", "--out", str(out)],
        cwd=ROOT,
        check=True,
    )
    return out / "clinic.tar.gz"


def reply_to(response: requests.Response, message: str) -> list[dict]:
    """The bot's reply to a user message; fails on an error and on an HTTP 200 with
    nothing to read (SPEC section 4: a user message never gets an empty list)."""
    response.raise_for_status()
    messages = response.json()
    assert any(isinstance(m.get("text"), str) and m["text"].strip() for m in messages), (
        f"HTTP 200 with no reply to {message[:80]!r}: {messages}"
    )
    return messages


@dataclass
class Stack:
    rasa_url: str
    action_url: str
    database_url: str
    webhook: FakeWebhook
    env: dict[str, str]
    twilio: FakeTwilio | None = None

    def say(self, sender: str, message: str, **extra: object) -> list[dict]:
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message, **extra},
            timeout=60,
        )
        return reply_to(response, message)

    def parse(self, text: str) -> dict:
        response = requests.post(
            f"{self.rasa_url}/model/parse",
            params={"token": API_TOKEN},
            json={"text": text},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


def stack_env(tmp: Path, webhook_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'clinic.db'}",
            "STAFF_WEBHOOK_URL": webhook_url,
            "OUTBOX_POLL_SECONDS": "0.2",
            "CLINIC_NAME": "Test Valley Ketamine Clinic",
            "CLINIC_PHONE": "(555) 010-0199",
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONPATH": str(ROOT),
            "ACTION_SERVER_TOKEN": ACTION_TOKEN,
        }
    )
    env.update(extra)
    return env


def start_actions(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """The action server as `python -m bot run` starts it (127.0.0.1, shared secret)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "actions", "serve"],
        cwd=ROOT,
        env={**env, "ACTION_PORT": str(port)},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def start_rasa(model: Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(VENV_BIN / "rasa"),
            "run",
            "--model",
            str(model),
            "--port",
            str(port),
            "--endpoints",
            str(ROOT / "endpoints.yml"),
            "--credentials",
            str(ROOT / "credentials.yml"),
            "--enable-api",
            "--auth-token",
            API_TOKEN,
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium, headless, driven by Playwright (one per test module)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium package)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def fake_twilio() -> Iterator[FakeTwilio]:
    """Twilio's REST API, started before the stack so its URL is in the stack's env."""
    fake = FakeTwilio()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def stack(
    model_path: Path, tmp_path_factory: pytest.TempPathFactory, fake_twilio: FakeTwilio
) -> Iterator[Stack]:
    """Rasa server, action server and outbox worker on a fresh SQLite database."""
    tmp = tmp_path_factory.mktemp("stack")
    webhook = FakeWebhook()
    webhook.start()
    rasa_port, action_port = free_port(), free_port()
    action_url = f"http://127.0.0.1:{action_port}"
    env = stack_env(
        tmp,
        webhook.url,
        ACTION_ENDPOINT_URL=f"{action_url}/webhook",
        ACTION_PORT=str(action_port),
        TWILIO_API_BASE_URL=fake_twilio.url,
        **SMS_ENV,
    )
    for command in (["db", "upgrade"], ["content", "load"]):
        subprocess.run([sys.executable, "-m", "bot", *command], cwd=ROOT, env=env, check=True)
    processes = [
        start_actions(action_port, env, tmp / "actions.log"),
        subprocess.Popen(
            [sys.executable, "-m", "bot", "outbox", "work"],
            cwd=ROOT,
            env=env,
            stdout=(tmp / "outbox.log").open("w"),
            stderr=subprocess.STDOUT,
        ),
        start_rasa(model_path, rasa_port, env, tmp / "rasa.log"),
    ]
    try:
        wait_for(f"{action_url}/health", process=processes[0])
        wait_for(f"http://127.0.0.1:{rasa_port}/", process=processes[2])
        yield Stack(
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            action_url=action_url,
            database_url=env["DATABASE_URL"],
            webhook=webhook,
            env=env,
            twilio=fake_twilio,
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        webhook.stop()


# --- The staff console on the stack ------------------------------------------------

STAFF_EMAIL = "frontdesk@clinic.test"
STAFF_FIRST_NAME = "Dana"  # what patients see on staff messages (takeover)
STAFF_PASSWORD = "long enough staff password"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Console:
    url: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def console(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """`python -m bot console serve` on a free port, with one staff account, talking to
    the stack's Rasa server through its HTTP API (takeover)."""
    tmp = tmp_path_factory.mktemp("console")
    port = free_port()
    env = {
        **stack.env,
        "APP_ENV": "development",
        "CONSOLE_PORT": str(port),
        "CONSOLE_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "CONSOLE_SEED_EMAIL": "",
        "CONSOLE_SEED_PASSWORD": "",
        "RASA_URL": stack.rasa_url,
        "RASA_API_TOKEN": API_TOKEN,
    }
    created = cli(
        env,
        "console",
        "create-user",
        STAFF_EMAIL,
        "--first-name",
        STAFF_FIRST_NAME,
        "--password-stdin",
        stdin=STAFF_PASSWORD,
    )
    assert created.returncode == 0, created.stderr
    with serving_console(env, tmp / "console.log") as url:
        yield Console(url=url, env=env)


@contextmanager
def serving_console(env: dict[str, str], log: Path) -> Iterator[str]:
    """`python -m bot console serve` with `env` (CONSOLE_PORT set), until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "console", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{env['CONSOLE_PORT']}"
    try:
        wait_for(f"{url}/login", timeout=60, process=process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def signed_in(
    console: Console, email: str = STAFF_EMAIL, password: str = STAFF_PASSWORD
) -> requests.Session:
    """A `requests` session after a real sign-in (with the login form's CSRF token)."""
    http = requests.Session()
    token = CSRF.search(http.get(f"{console.url}/login", timeout=10).text)
    assert token, "no CSRF token on the login page"
    response = http.post(
        f"{console.url}/login",
        data={"csrf_token": token.group(1), "email": email, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    return http


def start_early_in_rate_window(stack: Stack, seconds: float = 40.0) -> None:
    """Wait, if needed, until the rate limit's fixed window (RATE_LIMIT_WINDOW_SECONDS)
    has `seconds` left: a burst that straddles two windows may be admitted twice."""
    window = int(stack.env.get("RATE_LIMIT_WINDOW_SECONDS", "60"))
    if time.time() % window > window - seconds:
        time.sleep(window - time.time() % window + 0.5)


def custom_payloads(messages: list[dict], kind: str | None = None) -> list[dict]:
    """The `custom` objects of a turn, optionally only those of one `type`."""
    found = [m["custom"] for m in messages if isinstance(m.get("custom"), dict)]
    return [c for c in found if kind is None or c.get("type") == kind]


NOTICE_MARK = "automated assistant. I share general information, not medical advice"


def texts(messages: list[dict], *, include_notice: bool = True) -> list[str]:
    """Text of the bot's messages; without the session-start notice if asked."""
    return [
        m["text"]
        for m in messages
        if m.get("text") and (include_notice or NOTICE_MARK not in m["text"])
    ]


# --- A stack whose processes a test can stop, pause and start one at a time ---------


@dataclass
class SeparateStack(Stack):
    """Rasa, action server and outbox worker as separate processes of one test module."""

    tmp: Path | None = None
    model: Path | None = None
    rasa_port: int = 0
    action_port: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str) -> None:
        """Start one process ("actions", "outbox" or "rasa") and wait until it serves."""
        assert self.tmp is not None and self.model is not None
        log = self.tmp / f"{name}.log"
        if name == "actions":
            process = start_actions(self.action_port, self.env, log)
            self.processes[name] = process
            wait_for(f"{self.action_url}/health", timeout=60, process=process)
        elif name == "outbox":
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "bot", "outbox", "work"],
                cwd=ROOT,
                env=self.env,
                stdout=log.open("a"),
                stderr=subprocess.STDOUT,
            )
        else:
            process = start_rasa(self.model, self.rasa_port, self.env, log)
            self.processes[name] = process
            wait_for(f"{self.rasa_url}/", process=process)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop one process with `sig` (SIGKILL: a crash) and wait for it to be gone."""
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def send(self, name: str, sig: int) -> None:
        """Send `sig` (e.g. SIGSTOP/SIGCONT: hang and resume) without waiting."""
        self.processes[name].send_signal(sig)

    def log(self, name: str) -> str:
        assert self.tmp is not None
        return (self.tmp / f"{name}.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def separate_stack(
    model_path: Path, tmp_path_factory: pytest.TempPathFactory, fake_twilio: FakeTwilio
) -> Iterator[SeparateStack]:
    """A stack for fault injection (tests/test_faults_e2e.py): each process on its own.

    Custom actions time out after 3 s here, so a hung action server is quick to see.
    """
    tmp = tmp_path_factory.mktemp("separate")
    webhook = FakeWebhook()
    webhook.start()
    rasa_port, action_port = free_port(), free_port()
    action_url = f"http://127.0.0.1:{action_port}"
    env = stack_env(
        tmp,
        webhook.url,
        ACTION_ENDPOINT_URL=f"{action_url}/webhook",
        ACTION_PORT=str(action_port),
        ACTION_TIMEOUT_SECONDS="3",
        TWILIO_API_BASE_URL=fake_twilio.url,
        **SMS_ENV,
    )
    for command in (["db", "upgrade"], ["content", "load"]):
        subprocess.run([sys.executable, "-m", "bot", *command], cwd=ROOT, env=env, check=True)
    stack = SeparateStack(
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_url=action_url,
        database_url=env["DATABASE_URL"],
        webhook=webhook,
        env=env,
        twilio=fake_twilio,
        tmp=tmp,
        model=model_path,
        rasa_port=rasa_port,
        action_port=action_port,
    )
    try:
        for name in ("actions", "outbox", "rasa"):
            stack.start(name)
        yield stack
    finally:
        for name in list(stack.processes):
            stack.stop(name)
        webhook.stop()


@pytest.fixture(scope="session")
def domain_and_trackers() -> tuple[Domain, list[DialogueStateTracker]]:
    """The project's domain and every tracker Rasa generates from its rules."""
    from rasa.shared.core.generator import TrainingDataGenerator
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(
        config_path=str(ROOT / "config.yml"),
        domain_path=str(ROOT / "domain.yml"),
        training_data_paths=[str(ROOT / "data" / "rules")],
    )
    domain = importer.get_domain()
    trackers = TrainingDataGenerator(
        importer.get_stories(), domain, augmentation_factor=0, use_story_concatenation=False
    ).generate()
    assert len(trackers) > 20
    return domain, trackers
