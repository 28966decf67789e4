"""Runtime settings from ``TUTKA_…`` environment variables (the only place the environment is read).

Nested groups use a double underscore: ``TUTKA_AREAS__PATH=/data/regions_2024.csv``.

>>> Settings(_env_file=None).areas.path is None
True
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AreaSettings(_Group):
    path: Path | None = Field(
        default=None,
        description="area hierarchy file (ours or Statistics Finland's); default: the shipped one",
    )
    year: int | None = Field(default=None, description="year to use from a by-year file")


class Settings(BaseSettings):
    """Everything a runner needs that is not data."""

    model_config = SettingsConfigDict(
        env_prefix="TUTKA_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
    )

    catalogue: Path | None = Field(default=None, description="detector catalogue TOML")
    areas: AreaSettings = AreaSettings()
    output_dir: Path = Field(default=Path("tutka-out"), description="where demo outputs go")
