-- requires: core/008, inspections/003
-- The request's area (core/007) on inspections, as on incidents: under forced row-level
-- security the query's own && comes after the policies, so a bbox on inspections read
-- every row the caller may see (a grid worker's or a viewer's). A restrictive policy's
-- condition comes first and may use the GiST index. geom may be NULL (a scan without a
-- fix): such rows lie in no area and no bbox asks for them, but an unfiltered read (no
-- area named) must keep them, so they pass here and the query decides; GiST finds NULLs
-- too, so the whole condition is one bitmap over inspections_geom_idx.
CREATE POLICY inspections_area ON gridgeo.inspections AS RESTRICTIVE FOR SELECT
    USING (geom IS NULL OR geom && gridgeo.request_area());
