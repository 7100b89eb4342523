"""gridgeo's PostGIS feature provider for pygeoapi (psycopg 3, GeoJSON built in the database)."""
