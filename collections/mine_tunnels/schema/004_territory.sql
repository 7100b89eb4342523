-- requires: mine_tunnels/003, grids/003
-- Rows placed outside the deployment's territory are refused (grids/003_territory.sql).
CREATE TRIGGER mine_tunnels_territory BEFORE INSERT OR UPDATE OF geom ON gridgeo.mine_tunnels
    FOR EACH ROW EXECUTE FUNCTION gridgeo.check_territory();
