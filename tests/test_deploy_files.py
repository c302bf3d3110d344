"""The production-shaped files: docker-compose.yml parses and has the promised services."""

import os
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


COMPOSE_SECRETS = {"SECRET_KEY": "k" * 64, "BPMS_API_TOKEN": "t" * 32, "BPMS_WEBHOOK_SECRET": "w" * 40}


def test_docker_compose_config_parses_with_the_whole_stack():
    result = subprocess.run(
        [*_compose_command(), "config", "--services"], capture_output=True, text=True, cwd=settings.BASE_DIR,
        env={**os.environ, **COMPOSE_SECRETS},
    )
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {"postgres", "redis", "web", "worker", "beat", "bpms-mock", "mailpit", "ncalayer-emulator"} <= services


def test_redis_never_evicts_and_there_is_one_beat():
    text = (settings.BASE_DIR / "docker-compose.yml").read_text()
    assert "noeviction" in text
    assert text.count("celery\", \"-A\", \"homeportal\", \"beat\"") == 1


def test_dockerfile_installs_weasyprint_libraries():
    text = (settings.BASE_DIR / "Dockerfile").read_text()
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"):
        assert package in text


STANDINS = ("bpms_mock", "nca_services", "ncalayer_emulator")


def test_the_production_image_does_not_contain_the_stand_ins():
    """The Dockerfile copies the build context minus .dockerignore: every stand-in is excluded
    there and no COPY line names one; compose builds the mock's own image for the dev profile."""
    dockerfile = (settings.BASE_DIR / "Dockerfile").read_text()
    ignored = {line.strip().strip("/") for line in (settings.BASE_DIR / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    copies = [line for line in dockerfile.splitlines() if line.strip().upper().startswith(("COPY", "ADD"))]
    for standin in STANDINS:
        assert standin in ignored, f"{standin}/ must be in .dockerignore"
        assert not any(standin in line for line in copies), f"the Dockerfile must not copy {standin}/"
        assert not any(line.lstrip("!").strip("/") == standin for line in ignored if line.startswith("!"))
    compose = (settings.BASE_DIR / "docker-compose.yml").read_text()
    mock = compose[compose.index("\n  bpms-mock:"):].split("\n  mailpit:")[0]
    assert 'profiles: ["dev"]' in mock and "context: ./bpms_mock" in mock
    assert '["python", "-m", "bpms_mock"' in mock
    emulator = compose[compose.index("\n  ncalayer-emulator:"):].split("\n  mailpit:")[0]
    assert 'profiles: ["dev"]' in emulator and "context: ./ncalayer_emulator" in emulator
    assert '["python", "-m", "ncalayer_emulator"' in emulator


def test_docker_compose_has_no_default_secrets():
    """Secrets come from the environment only: `compose config` without them names what is missing."""
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_SECRETS}
    result = subprocess.run([*_compose_command(), "config", "--services"], capture_output=True, text=True,
                            cwd=settings.BASE_DIR, env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr or "BPMS_" in result.stderr
    text = (settings.BASE_DIR / "docker-compose.yml").read_text()
    assert "dev-bpms" not in text and "change-me-in-production" not in text


def test_every_apps_tests_are_collected_by_make_test():
    """A tests/ folder outside pytest's testpaths never runs in `make test` (uploads and audit once did not)."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    testpaths = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"])
    with_tests = {p.parent.parent.name for p in root.glob("*/tests/test_*.py")}
    assert with_tests - testpaths == set()


def test_every_make_target_that_shows_pages_compiles_the_catalogues_first():
    """The .mo files are not in git: a target that serves or tests pages without `messages` (or its
    own compilemessages) shows English msgids — `make bench`'s browser benches once found no
    «Подписать ЭЦП/QR» in a fresh clone."""
    import re
    from pathlib import Path

    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    for target in ("run", "test", "bench", "fuzz"):
        rule = re.search(rf"^{target}:(?!\s*export )(?P<deps>[^\n]*)\n(?P<recipe>(?:\t[^\n]*\n)*)", makefile, re.M)
        assert rule, target
        assert "messages" in rule["deps"].split() or "compilemessages" in rule["recipe"], target
