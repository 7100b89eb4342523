-- requires: incidents/005, grids/003
-- Rows placed outside the deployment's territory are refused (grids/003_territory.sql).
CREATE TRIGGER incidents_territory BEFORE INSERT OR UPDATE OF geom ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.check_territory();
