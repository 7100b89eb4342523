"""The classes of road in ``gridgeo.roads`` and how fast a car goes on each.

Both the importer (pricing a town's real roads) and the demo town (pricing its drawn
ones) use these; the roads table's ``road_class`` CHECK lists the same classes.
"""

from __future__ import annotations

ROAD_CLASSES = ("county", "township", "village", "track", "path")
# Driving speed in km/h; a class without one (path) is walked only.
SPEED_KMH = {"county": 50.0, "township": 40.0, "village": 25.0, "track": 12.0}
