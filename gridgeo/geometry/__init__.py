"""Geometry helpers shared by gridgeo's processes: layers read in the metric CRS,
CRS transforms, grouped sums and a threaded map for vectorised shapely calls."""
