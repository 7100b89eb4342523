-- requires: core/001
-- A routable road network: pgRouting's source/target topology with costs in seconds.
-- cost/reverse_cost are driving times (negative = not allowed in that direction);
-- walk_cost/walk_reverse_cost are terrain-aware walking times from the DEM.
CREATE TABLE gridgeo.roads (
    id                bigserial PRIMARY KEY,
    name              text,
    road_class        text NOT NULL CHECK (road_class IN ('county', 'township', 'village',
                          'track', 'path')),
    oneway            boolean NOT NULL DEFAULT false,
    source            bigint NOT NULL,
    target            bigint NOT NULL,
    length_m          double precision,
    cost              double precision NOT NULL,
    reverse_cost      double precision NOT NULL,
    walk_cost         double precision,
    walk_reverse_cost double precision,
    geom              geometry(LineString, 4490) NOT NULL,
    CONSTRAINT roads_geom_valid CHECK (NOT ST_IsEmpty(geom) AND ST_NPoints(geom) >= 2)
);
CREATE INDEX roads_geom_idx ON gridgeo.roads USING gist (geom);
CREATE INDEX roads_source_idx ON gridgeo.roads (source);
CREATE INDEX roads_target_idx ON gridgeo.roads (target);

CREATE FUNCTION gridgeo.roads_length() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.length_m := ST_Length(ST_Transform(NEW.geom, gridgeo.metric_srid()));
    RETURN NEW;
END $$;
CREATE TRIGGER roads_length BEFORE INSERT OR UPDATE OF geom ON gridgeo.roads
    FOR EACH ROW EXECUTE FUNCTION gridgeo.roads_length();

CREATE VIEW gridgeo.roads_view AS
SELECT r.id, r.name, r.road_class, r.oneway, r.source, r.target,
       round(r.length_m::numeric, 1)::double precision AS length_m, r.cost, r.reverse_cost,
       r.walk_cost, r.walk_reverse_cost, r.geom
  FROM gridgeo.roads r;
