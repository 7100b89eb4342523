-- requires: grids/001, police_grids/001
-- The crosswalk between governance grids and police grids (警网融合), written by the
-- police-grid-overlap process. Areas and shares were computed in the metric CRS
-- (gridgeo.metric_srid()); geom is the intersection piece, stored in EPSG:4490.
-- A snapshot of the last run: no foreign keys, so the process can replace the rows of
-- the grids it computed in one statement each; rows of grids that no longer exist are
-- removed by the next run.
CREATE TABLE gridgeo.grid_police_crosswalk (
    id                text PRIMARY KEY,  -- grid_code || '~' || police_grid_code: stable across runs
    grid_code         text NOT NULL,
    grid_level        text NOT NULL,
    police_grid_code  text NOT NULL,
    area_m2           double precision NOT NULL CHECK (area_m2 > 0),
    grid_share        double precision NOT NULL CHECK (grid_share > 0),
    police_grid_share double precision NOT NULL CHECK (police_grid_share > 0),
    dominant          boolean NOT NULL,
    sliver            boolean NOT NULL,
    computed_at       timestamptz NOT NULL DEFAULT now(),
    geom              geometry(MultiPolygon, 4490) NOT NULL,
    CONSTRAINT grid_police_crosswalk_id CHECK (id = grid_code || '~' || police_grid_code)
);
CREATE INDEX grid_police_crosswalk_police_idx ON gridgeo.grid_police_crosswalk (police_grid_code);
CREATE INDEX grid_police_crosswalk_geom_idx ON gridgeo.grid_police_crosswalk USING gist (geom);
-- One dominant police grid per grid; also the index gridgeo.dominant_police_grid() uses.
CREATE UNIQUE INDEX grid_police_crosswalk_dominant_idx ON gridgeo.grid_police_crosswalk (grid_code)
    WHERE dominant;

-- The police grid that answers for a grid: its dominant one in the last run (NULL when
-- the grid was never computed or no police grid covers it). For other queries, e.g. an
-- incident's responsible officer.
CREATE FUNCTION gridgeo.dominant_police_grid(grid text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT police_grid_code FROM gridgeo.grid_police_crosswalk
     WHERE grid_code = grid AND dominant $$;

-- Officers' names and work phones are public contact data, as in police_grids_view.
CREATE VIEW gridgeo.grid_police_crosswalk_view AS
SELECT c.id, c.grid_code, g.name AS grid_name, c.grid_level, c.police_grid_code,
       p.name AS police_grid_name, p.station_code, d.name AS station_name,
       round(c.area_m2::numeric, 1)::double precision AS area_m2,
       round(c.grid_share::numeric, 6)::double precision AS grid_share,
       round(c.police_grid_share::numeric, 6)::double precision AS police_grid_share,
       c.dominant, c.sliver, officers.names AS officer_names, officers.phones AS officer_phones,
       c.computed_at, c.geom
  FROM gridgeo.grid_police_crosswalk c
  LEFT JOIN gridgeo.grids g ON g.code = c.grid_code
  LEFT JOIN gridgeo.police_grids p ON p.code = c.police_grid_code
  LEFT JOIN gridgeo.departments d ON d.code = p.station_code
  LEFT JOIN LATERAL (
        SELECT string_agg(s.name, '、' ORDER BY s.id) AS names,
               string_agg(s.work_phone, '、' ORDER BY s.id) AS phones
          FROM gridgeo.police_grid_assignments a JOIN gridgeo.staff s ON s.id = a.staff_id
         WHERE a.police_grid_code = c.police_grid_code) officers ON true;
