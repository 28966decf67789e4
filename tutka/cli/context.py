"""What every command starts from: the settings and the validated configuration.

The root group (:mod:`tutka.cli`) keeps its global options, ``--areas`` and ``--catalogue``, in
``ctx.obj``; a command that needs the configuration calls :func:`load_context`. Commands import
this module, never the root group, so the root can load them lazily and nothing imports in a
circle.
"""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from tutka.config.areas import demo_hierarchy, load_hierarchy
from tutka.config.catalogue import Catalogue, load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.config.settings import Settings
from tutka.models.areas import Hierarchy


class Context:
    """Settings and the validated configuration, loaded once per invocation."""

    def __init__(self, areas: Path | None, catalogue: Path | None) -> None:
        try:
            settings = Settings()
        except ValidationError as exc:
            raise click.ClickException(f"invalid TUTKA_ settings:\n{exc}") from exc
        self.settings = settings
        self.areas_path = areas or settings.areas.path
        self.catalogue_path = catalogue or settings.catalogue
        try:
            self.hierarchy: Hierarchy = load_hierarchy(self.areas_path, settings.areas.year)
            self.catalogue: Catalogue = load_catalogue(self.catalogue_path)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        self.sectors = localized_sector_names()

    @property
    def synthetic_world(self) -> Hierarchy:
        """The hierarchy a synthetic market is made of: the demo's small world, unless an areas
        file was given (the shipped default is the whole classification: 309 municipalities)."""
        return self.hierarchy if self.areas_path is not None else demo_hierarchy()


def global_options(ctx: click.Context) -> tuple[Path | None, Path | None]:
    """The root's ``--areas`` and ``--catalogue`` (None: the settings' defaults)."""
    areas, catalogue = ctx.obj
    return areas, catalogue


def load_context(ctx: click.Context) -> Context:
    """The :class:`Context` for this invocation, from the root's global options."""
    return Context(*global_options(ctx))
