"""gridgeo answers JSON items requests itself: the database's GeoJSON text goes out as is.

pygeoapi's items handler re-parses and re-serialises whatever a provider returns;
HTML, CSV and JSON-LD still go through pygeoapi and the same provider and query builder,
after the same request model (``gridgeo.provider.params``) has read the request.
"""
