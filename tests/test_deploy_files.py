"""The production-shaped files: docker-compose.yml parses and has the promised services."""

import shutil
import subprocess

import pytest
from django.conf import settings


def _compose_command():
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    pytest.fail("neither `docker compose` nor `docker-compose` is installed (scripts/ensure_system.sh --test installs it)")


def test_docker_compose_config_parses_with_the_whole_stack():
    result = subprocess.run(
        [*_compose_command(), "config", "--services"], capture_output=True, text=True, cwd=settings.BASE_DIR
    )
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {"postgres", "redis", "web", "worker", "beat", "bpms-mock", "mailpit"} <= services


def test_redis_never_evicts_and_there_is_one_beat():
    text = (settings.BASE_DIR / "docker-compose.yml").read_text()
    assert "noeviction" in text
    assert text.count("celery\", \"-A\", \"homeportal\", \"beat\"") == 1


def test_dockerfile_installs_weasyprint_libraries():
    text = (settings.BASE_DIR / "Dockerfile").read_text()
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"):
        assert package in text
