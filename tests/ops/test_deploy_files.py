"""deploy/ cannot be run here (no container runtime, no GPU), so this keeps it true: every
`stylevault` command its files run exists and accepts the options given, every variable
they name is one the code reads (or docs/deploy.md explains), every file they copy exists,
every metric the autoscaler queries is exported, and docs/deploy.md covers every file."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
FILES = sorted(p for p in DEPLOY.rglob("*") if p.is_file())
DOCS = (ROOT / "docs" / "deploy.md").read_text()


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _command_lines() -> list[tuple[str, str]]:
    """(file, command line) for every `stylevault ...` the deploy files run."""
    found: list[tuple[str, str]] = []
    for path in FILES:
        text = path.read_text()
        for match in re.finditer(r"^CMD (\[.*\])$", text, re.MULTILINE):
            found.append((path.name, shlex.join(json.loads(match.group(1)))))
        for match in re.finditer(r"^ExecStart(?:Pre)?=(.*)$", text, re.MULTILINE):
            found.append((path.name, match.group(1).replace("%i", "0")))
    for name, service in _compose()["services"].items():
        for key in ("command", "entrypoint"):
            value = service.get(key)
            if isinstance(value, list) and value[:2] == ["sh", "-c"]:
                statements = re.split(r"\s*(?:;|&&|\bdo\b|\bthen\b)\s*", value[2])
                found += [(name, s) for s in statements if s.startswith("stylevault ")]
            elif isinstance(value, list) and value and value[0] == "stylevault":
                found.append((name, shlex.join(value)))
    return [(where, line) for where, line in found if "stylevault " in line]


COMMANDS = _command_lines()


def test_the_files_run_commands_at_all():
    assert len(COMMANDS) >= 10, COMMANDS


@pytest.mark.parametrize(("where", "line"), COMMANDS, ids=[f"{w}: {c}" for w, c in COMMANDS])
def test_every_command_exists_and_takes_its_options(where, line):
    argv = shlex.split(line)
    argv = argv[argv.index(next(a for a in argv if a.endswith("stylevault"))) :]
    name, options = argv[1], argv[2:]
    commands = get_commands()
    assert name in commands, f"{where}: no command `stylevault {name}`"
    command = load_command_class(commands[name], name)
    parser = command.create_parser("stylevault", name)
    try:
        parser.parse_args(options)
    except SystemExit:
        pytest.fail(f"{where}: `stylevault {name}` refuses {options}")


def test_every_variable_they_name_is_read_by_the_code_or_explained():
    source = "".join(p.read_text() for p in (ROOT / "stylevault").rglob("*.py"))
    for path in FILES:
        text = path.read_text()
        for variable in set(re.findall(r"\bSTYLEVAULT_[A-Z0-9_]+", text)):
            assert variable in source, f"{path.name} names {variable}, which nothing reads"
        for variable in set(re.findall(r"\$\{([A-Z0-9_]+)\}", text)):
            assert variable in DOCS, f"{path.name} needs {variable}: docs/deploy.md must say so"


def test_what_the_images_copy_exists_and_torch_is_pinned_as_in_the_makefile():
    pin = re.search(r"torch==[\d.]+", (ROOT / "Makefile").read_text()).group(0)
    for dockerfile in DEPLOY.glob("Dockerfile.*"):
        text = dockerfile.read_text()
        for sources in re.findall(r"^COPY (.+) \S+$", text, re.MULTILINE):
            for source in sources.split():
                assert (ROOT / source).exists(), f"{dockerfile.name} copies missing {source}"
        assert f"pip install -q {pin}" in text, f"{dockerfile.name} must pin {pin}"
    assert "nvidia/cuda:" in (DEPLOY / "Dockerfile.gpu-worker").read_text()


def test_the_compose_file_builds_from_these_dockerfiles_and_names_every_service_it_needs():
    services = _compose()["services"]
    assert {"postgres", "rabbitmq", "redis", "minio", "web", "worker", "gpu-worker"} <= set(
        services
    )
    for service in services.values():
        build = service.get("build")
        if build:
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
        for dependency in service.get("depends_on", []):
            assert dependency in services


def test_the_autoscaler_queries_metrics_that_exist():
    exported = (ROOT / "stylevault" / "jobs" / "metrics.py").read_text()
    keda = yaml.safe_load((DEPLOY / "keda.yaml").read_text())
    for trigger in keda["spec"]["triggers"]:
        for metric in re.findall(r"stylevault_[a-z_]+", trigger["metadata"]["query"]):
            assert f'"{metric}"' in exported, f"keda.yaml queries {metric}, not exported"


def test_docs_deploy_covers_every_file():
    for path in FILES:
        assert str(path.relative_to(ROOT)) in DOCS, f"docs/deploy.md says nothing of {path}"
