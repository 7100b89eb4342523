-- core/007's request_area() with its types named by schema: pg_dump (gridgeo backup) reads
-- incidents with an empty search_path, and the unqualified ::geometry then failed under
-- the restrictive policy. Same body otherwise (still an inlinable SQL function).
CREATE OR REPLACE FUNCTION gridgeo.request_area() RETURNS geometry
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(nullif(current_setting('gridgeo.area', true), '')::public.geometry,
                          'SRID=4490;POLYGON((-1e9 -1e9,-1e9 1e9,1e9 1e9,1e9 -1e9,-1e9 -1e9))'
                              ::public.geometry) $$;
