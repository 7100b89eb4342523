"""Built-in plugin: the ``patrol-route`` process and GPX downloads of stored patrols."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridgeo import hookimpl
from gridgeo.contributions import ProcessContribution

if TYPE_CHECKING:
    from flask import Blueprint


@hookimpl
def gridgeo_processes() -> list[ProcessContribution]:
    return [ProcessContribution(id="patrol-route",
                                processor="gridgeo_plugins.patrol.process.PatrolRouteProcessor")]


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.patrol.blueprint import patrol_blueprint

    return [patrol_blueprint]
