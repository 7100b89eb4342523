-- requires: grids/001, police_grids/001, addresses/001
-- Incidents (事件) in the closed loop: report > accept > dispatch > handle > verify > close.
-- Field names borrow Open311 GeoReport v2 where they fit. Reporter fields are personal.
CREATE TABLE gridgeo.incident_categories (
    code        text PRIMARY KEY,
    name_zh     text NOT NULL,
    name_en     text NOT NULL,
    class       text NOT NULL CHECK (class IN ('city_appearance', 'advertising', 'construction',
                    'street_order', 'emergency', 'extension')),
    parent_code text REFERENCES gridgeo.incident_categories (code)
);

CREATE TABLE gridgeo.incident_colours (
    colour   text PRIMARY KEY,
    deadline interval NOT NULL
);
INSERT INTO gridgeo.incident_colours VALUES
    ('yellow', interval '1 day'), ('orange', interval '7 days'), ('red', interval '1 month');

CREATE TABLE gridgeo.incidents (
    id                  serial PRIMARY KEY,
    case_no             text NOT NULL UNIQUE CHECK (case_no ~ '^[0-9]{6}[0-9]{8}[0-9]{4}$'),
    category_code       text NOT NULL REFERENCES gridgeo.incident_categories (code),
    title               text NOT NULL,
    description         text,
    colour              text NOT NULL REFERENCES gridgeo.incident_colours (colour),
    state               text NOT NULL CHECK (state IN ('reported', 'accepted', 'invalid',
                            'duplicate', 'dispatched', 'in_progress', 'resolved', 'verified',
                            'closed', 'returned', 'reopened')),
    source              text NOT NULL CHECK (source IN ('grid_worker', 'hotline', 'police',
                            'resident_app', 'inspection', 'other')),
    reported_at         timestamptz NOT NULL,
    accepted_at         timestamptz,
    dispatched_at       timestamptz,
    resolved_at         timestamptz,
    closed_at           timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    agency_responsible  text,
    address_text        text,
    address_id          integer REFERENCES gridgeo.addresses (id) ON DELETE SET NULL,
    reporter_name       text,
    reporter_phone      text,
    reporter_id_number  text,
    grid_code           text,
    dedicated_grid_code text,
    police_grid_code    text,
    geom                geometry(Point, 4490) NOT NULL,
    CONSTRAINT incidents_times_ordered CHECK (
        accepted_at IS NULL OR accepted_at >= reported_at),
    CONSTRAINT incidents_closed_time CHECK ((state = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX incidents_geom_idx ON gridgeo.incidents USING gist (geom);
CREATE INDEX incidents_state_idx ON gridgeo.incidents (state);
CREATE INDEX incidents_reported_idx ON gridgeo.incidents (reported_at);
CREATE INDEX incidents_grid_idx ON gridgeo.incidents (grid_code);

CREATE FUNCTION gridgeo.incidents_places() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.police_grid_code := (SELECT code FROM gridgeo.police_grids
                              WHERE ST_Intersects(geom, NEW.geom) ORDER BY code LIMIT 1);
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_grid_codes BEFORE INSERT OR UPDATE OF geom ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.assign_grid_codes();
CREATE TRIGGER incidents_police_grid BEFORE INSERT OR UPDATE OF geom ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incidents_places();

CREATE VIEW gridgeo.incidents_view AS
SELECT i.id, i.case_no, i.category_code, c.name_zh AS category_name, c.class AS category_class,
       i.title, i.description, i.colour, i.state, i.source, i.reported_at, i.accepted_at,
       i.dispatched_at, i.resolved_at, i.closed_at, i.updated_at,
       i.accepted_at + k.deadline AS deadline_at,
       (i.state NOT IN ('closed', 'invalid', 'duplicate')
            AND i.accepted_at + k.deadline < now()) AS overdue,
       CASE WHEN i.state = 'closed' THEN i.closed_at <= i.accepted_at + k.deadline
       END AS closed_on_time,
       i.agency_responsible, i.address_text, i.address_id,
       i.reporter_name, i.reporter_phone, i.reporter_id_number,
       i.grid_code, i.dedicated_grid_code, i.police_grid_code, i.geom
  FROM gridgeo.incidents i
  JOIN gridgeo.incident_categories c ON c.code = i.category_code
  JOIN gridgeo.incident_colours k ON k.colour = i.colour;
