-- requires: core/001
-- Generated patrol routes, one row per patrol, so a field app can fetch "my routes today".
CREATE TABLE gridgeo.patrol_routes (
    id           serial PRIMARY KEY,
    route_no     text NOT NULL UNIQUE,
    name         text NOT NULL,
    patrol_kind  text NOT NULL CHECK (patrol_kind IN ('visit_targets', 'street_sweep',
                     'big_patrol')),
    travel_mode  text NOT NULL CHECK (travel_mode IN ('walking', 'driving')),
    patrol_date  date NOT NULL,
    starts_at    timestamptz,
    assignee_id  integer REFERENCES gridgeo.staff (id) ON DELETE SET NULL,
    area         text,
    length_m     double precision,
    duration_s   double precision,
    stops        jsonb NOT NULL DEFAULT '[]',
    created_at   timestamptz NOT NULL DEFAULT now(),
    geom         geometry(MultiLineString, 4490) NOT NULL
);
CREATE INDEX patrol_routes_geom_idx ON gridgeo.patrol_routes USING gist (geom);
CREATE INDEX patrol_routes_assignee_idx ON gridgeo.patrol_routes (assignee_id, patrol_date);

CREATE VIEW gridgeo.patrol_routes_view AS
SELECT r.id, r.route_no, r.name, r.patrol_kind, r.travel_mode, r.patrol_date, r.starts_at,
       r.assignee_id, s.name AS assignee_name, r.area, r.length_m, r.duration_s, r.stops,
       r.created_at, r.geom
  FROM gridgeo.patrol_routes r
  LEFT JOIN gridgeo.staff s ON s.id = r.assignee_id;
