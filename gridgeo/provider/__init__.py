"""gridgeo's PostGIS feature provider for pygeoapi (psycopg 3, GeoJSON built in the
database), with the items request model and the query builder every format shares."""
