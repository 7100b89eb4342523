-- requires: core/001
-- Governance grids, every level in one table: town > area > village > unit > micro.
-- Codes follow the 12-digit statistical division code (village), + 3 digits (unit),
-- + 2 digits (micro); an area is the town's 9 digits + 'P' + 2 digits.
CREATE TABLE gridgeo.grids (
    id             serial PRIMARY KEY,
    code           text NOT NULL UNIQUE,
    name           text NOT NULL,
    level          text NOT NULL CHECK (level IN ('town', 'area', 'village', 'unit', 'micro')),
    kind           text NOT NULL DEFAULT 'basic' CHECK (kind IN ('basic', 'dedicated')),
    dedicated_type text CHECK (dedicated_type IN ('enterprise', 'mine_area', 'school',
                       'hospital', 'market', 'scenic_area', 'other')),
    parent_code    text REFERENCES gridgeo.grids (code) ON UPDATE CASCADE
                       DEFERRABLE INITIALLY DEFERRED,
    village_code   text,
    difficulty     char(1) CHECK (difficulty IN ('A', 'B', 'C')),
    households     integer CHECK (households >= 0),
    population     integer CHECK (population >= 0),
    area_m2        double precision,
    valid_from     timestamptz NOT NULL DEFAULT now(),
    geom           geometry(MultiPolygon, 4490) NOT NULL,
    CONSTRAINT grids_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT grids_dedicated_type CHECK ((kind = 'dedicated') = (dedicated_type IS NOT NULL)),
    CONSTRAINT grids_dedicated_level CHECK (kind = 'basic' OR level = 'unit'),
    CONSTRAINT grids_code_format CHECK (CASE level
        WHEN 'town'    THEN code ~ '^[0-9]{9}$' AND parent_code IS NULL
        WHEN 'area'    THEN code ~ '^[0-9]{9}P[0-9]{2}$' AND parent_code = left(code, 9)
        WHEN 'village' THEN code ~ '^[0-9]{12}$' AND left(parent_code, 9) = left(code, 9)
                            AND parent_code ~ '^[0-9]{9}P[0-9]{2}$'
        WHEN 'unit'    THEN code ~ '^[0-9]{15}$' AND parent_code = left(code, 12)
        WHEN 'micro'   THEN code ~ '^[0-9]{17}$' AND parent_code = left(code, 15)
    END),
    CONSTRAINT grids_village_code CHECK (
        village_code IS NULL AND level IN ('town', 'area')
        OR village_code = left(code, 12) AND level IN ('village', 'unit', 'micro'))
);
CREATE INDEX grids_geom_idx ON gridgeo.grids USING gist (geom);
CREATE INDEX grids_level_idx ON gridgeo.grids (level, kind);
CREATE INDEX grids_parent_idx ON gridgeo.grids (parent_code);

-- Closed versions: a boundary change or a deletion moves the old row here.
CREATE TABLE gridgeo.grid_versions (
    version_id serial PRIMARY KEY,
    LIKE gridgeo.grids EXCLUDING CONSTRAINTS EXCLUDING INDEXES,
    valid_to   timestamptz NOT NULL
);
CREATE INDEX grid_versions_code_idx ON gridgeo.grid_versions (code, valid_to);

CREATE FUNCTION gridgeo.grids_before_write() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.area_m2 := ST_Area(ST_Transform(NEW.geom, gridgeo.metric_srid()));
    IF TG_OP = 'UPDATE' AND NOT ST_Equals(OLD.geom, NEW.geom) THEN
        INSERT INTO gridgeo.grid_versions
            SELECT nextval('gridgeo.grid_versions_version_id_seq'), OLD.*, now();
        NEW.valid_from := now();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER grids_before_write BEFORE INSERT OR UPDATE ON gridgeo.grids
    FOR EACH ROW EXECUTE FUNCTION gridgeo.grids_before_write();

CREATE FUNCTION gridgeo.grids_after_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gridgeo.grid_versions
        SELECT nextval('gridgeo.grid_versions_version_id_seq'), OLD.*, now();
    RETURN OLD;
END $$;
CREATE TRIGGER grids_after_delete AFTER DELETE ON gridgeo.grids
    FOR EACH ROW EXECUTE FUNCTION gridgeo.grids_after_delete();

-- Who answers for a grid. Leaders, workers and instructors are public contact data.
CREATE TABLE gridgeo.grid_assignments (
    grid_code text NOT NULL REFERENCES gridgeo.grids (code) ON UPDATE CASCADE ON DELETE CASCADE,
    staff_id  integer NOT NULL REFERENCES gridgeo.staff (id) ON DELETE CASCADE,
    role      text NOT NULL CHECK (role IN ('leader', 'worker', 'instructor', 'reporter',
                  'volunteer')),
    PRIMARY KEY (grid_code, staff_id, role)
);
CREATE INDEX grid_assignments_staff_idx ON gridgeo.grid_assignments (staff_id);

-- The basic unit grid and the dedicated grid a feature lies in, set by the database
-- on insert and update (never by the caller). A polygon is placed by a point
-- guaranteed to lie on its surface; ties on a shared edge go to the lowest code.
CREATE FUNCTION gridgeo.grid_code_at(p geometry, grid_kind text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT code FROM gridgeo.grids
     WHERE level = 'unit' AND kind = grid_kind AND ST_Intersects(geom, p)
     ORDER BY code LIMIT 1 $$;

CREATE FUNCTION gridgeo.assign_grid_codes() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    p geometry;
BEGIN
    IF NEW.geom IS NULL THEN
        NEW.grid_code := NULL;
        NEW.dedicated_grid_code := NULL;
        RETURN NEW;
    END IF;
    p := CASE WHEN ST_Dimension(NEW.geom) = 2 THEN ST_PointOnSurface(NEW.geom)
              WHEN ST_Dimension(NEW.geom) = 1 THEN ST_LineInterpolatePoint(
                   ST_GeometryN(NEW.geom, 1), 0.5)
              ELSE ST_GeometryN(NEW.geom, 1) END;
    NEW.grid_code := gridgeo.grid_code_at(p, 'basic');
    NEW.dedicated_grid_code := gridgeo.grid_code_at(p, 'dedicated');
    RETURN NEW;
END $$;

CREATE VIEW gridgeo.grids_view AS
SELECT g.id, g.code, g.name, g.level, g.kind, g.dedicated_type, g.parent_code,
       g.village_code, g.difficulty, g.households, g.population,
       round(g.area_m2::numeric, 1)::double precision AS area_m2, g.valid_from,
       leader.name AS leader_name, leader.work_phone AS leader_phone,
       workers.names AS worker_names, workers.phones AS worker_phones,
       g.geom
  FROM gridgeo.grids g
  LEFT JOIN LATERAL (
        SELECT s.name, s.work_phone FROM gridgeo.grid_assignments a
          JOIN gridgeo.staff s ON s.id = a.staff_id
         WHERE a.grid_code = g.code AND a.role = 'leader'
         ORDER BY s.id LIMIT 1) leader ON true
  LEFT JOIN LATERAL (
        SELECT string_agg(s.name, '、' ORDER BY s.id) AS names,
               string_agg(s.work_phone, '、' ORDER BY s.id) AS phones
          FROM gridgeo.grid_assignments a JOIN gridgeo.staff s ON s.id = a.staff_id
         WHERE a.grid_code = g.code AND a.role = 'worker') workers ON true;
