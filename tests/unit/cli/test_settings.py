"""TUTKA_… settings: read from the environment only in tutka.config.settings, validated, frozen."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tutka.config.settings import Settings


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TUTKA_CATALOGUE", "TUTKA_AREAS__PATH", "TUTKA_OUTPUT_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.areas.path is None and settings.catalogue is None
    assert settings.output_dir == Path("tutka-out")


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTKA_AREAS__PATH", "/data/regions_2024.csv")
    monkeypatch.setenv("TUTKA_AREAS__YEAR", "2024")
    monkeypatch.setenv("TUTKA_OUTPUT_DIR", "/tmp/out")
    settings = Settings()
    assert settings.areas.path == Path("/data/regions_2024.csv") and settings.areas.year == 2024
    assert settings.output_dir == Path("/tmp/out")
    with pytest.raises(ValidationError):
        settings.output_dir = Path("/elsewhere")  # type: ignore[misc]


def test_unknown_or_bad_settings_fail_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTKA_AREAS__YEAR", "last year")
    with pytest.raises(ValidationError) as info:
        Settings()
    assert [e["loc"] for e in info.value.errors()] == [("areas", "year")]
