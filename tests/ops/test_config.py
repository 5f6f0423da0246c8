"""Configuration is checked at start: every problem is one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stylevault.core.config import ConfigError, load


def test_production_refuses_missing_secret_hosts_and_bad_database(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(
            {
                "STYLEVAULT_ENV": "production",
                "STYLEVAULT_DATA_DIR": str(tmp_path),
                "DATABASE_URL": "mysql://nope",
            }
        )
    problems = "\n".join(caught.value.problems)
    assert "STYLEVAULT_SECRET_KEY" in problems
    assert "STYLEVAULT_ALLOWED_HOSTS" in problems
    assert "DATABASE_URL" in problems


def test_production_refuses_a_weak_secret(tmp_path):
    with pytest.raises(ConfigError, match="too weak"):
        load(
            {
                "STYLEVAULT_ENV": "production",
                "STYLEVAULT_SECRET_KEY": "changeme",
                "STYLEVAULT_ALLOWED_HOSTS": "example.com",
                "STYLEVAULT_DATA_DIR": str(tmp_path),
            }
        )


def test_embedded_mode_generates_a_private_secret(tmp_path):
    config = load({"STYLEVAULT_DATA_DIR": str(tmp_path)})
    secret_file = tmp_path / "secret_key"
    assert config.secret_key == secret_file.read_text().strip()
    assert len(config.secret_key) >= 50
    assert secret_file.stat().st_mode & 0o077 == 0
    assert load({"STYLEVAULT_DATA_DIR": str(tmp_path)}).secret_key == config.secret_key


def test_bad_rate_and_broker_are_reported(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(
            {
                "STYLEVAULT_DATA_DIR": str(tmp_path),
                "STYLEVAULT_RATE_LOGIN": "five",
                "STYLEVAULT_BROKER_URL": "http://x",
            }
        )
    assert len(caught.value.problems) == 2


def test_the_command_stops_with_one_line_per_problem(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "STYLEVAULT_ENV": "production",
        "STYLEVAULT_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "stylevault.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and all(
        line.startswith("stylevault: configuration error") for line in lines
    )


def test_s3_storage_url_becomes_private_storage_options():
    from stylevault.core.config import s3_options

    options = s3_options(
        "s3://media-bucket/prefix?endpoint_url=http://127.0.0.1:9000&region_name=eu"
    )
    assert options["bucket_name"] == "media-bucket" and options["location"] == "prefix"
    assert options["endpoint_url"] == "http://127.0.0.1:9000"
    assert options["default_acl"] == "private" and options["querystring_auth"] is True
