-- Shared tables every collection builds on: deployment settings, departments, staff.
CREATE SCHEMA IF NOT EXISTS gridgeo;

CREATE TABLE gridgeo.deployment (
    key   text PRIMARY KEY,
    value text NOT NULL
);
-- The metric CRS for areas and lengths: the CGCS2000 3-degree Gauss-Krueger zone
-- whose central meridian is nearest the data (EPSG:4546, central meridian 111 E, for the demo town at 112.3 E).
INSERT INTO gridgeo.deployment (key, value) VALUES
    ('metric_srid', '4546'),
    ('county_code', '410399');

CREATE FUNCTION gridgeo.metric_srid() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT value::integer FROM gridgeo.deployment WHERE key = 'metric_srid' $$;

-- Areas are measured in the metric CRS, never in degrees.
CREATE FUNCTION gridgeo.set_area_m2() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.area_m2 := ST_Area(ST_Transform(NEW.geom, gridgeo.metric_srid()));
    RETURN NEW;
END $$;

-- Links printed in QR codes: the deployment's public URL (set per connection by gridgeo)
-- plus a stable natural code, so a plate survives re-imports.
CREATE FUNCTION gridgeo.qr_url(kind text, code text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(nullif(current_setting('gridgeo.public_url', true), ''),
                          'http://127.0.0.1:5000') || '/q/' || kind || '/' || code $$;

CREATE TABLE gridgeo.departments (
    id          serial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('town', 'village', 'police_station',
                    'county_department', 'town_department', 'enterprise', 'other')),
    parent_code text REFERENCES gridgeo.departments (code) ON UPDATE CASCADE
);

-- Staff names and work phones are public contact data (printed on door plates);
-- nothing personal about residents lives here.
CREATE TABLE gridgeo.staff (
    id              serial PRIMARY KEY,
    staff_no        text NOT NULL UNIQUE,
    name            text NOT NULL,
    role            text NOT NULL CHECK (role IN ('grid_leader', 'grid_worker', 'grid_instructor',
                        'info_reporter', 'volunteer', 'police_officer', 'inspector')),
    work_phone      text,
    department_code text REFERENCES gridgeo.departments (code) ON UPDATE CASCADE,
    active          boolean NOT NULL DEFAULT true
);
CREATE INDEX staff_department_idx ON gridgeo.staff (department_code);
