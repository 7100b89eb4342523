-- A connection that names no caller is the least trusted, never the most.
--
-- Until now a connection that had never set gridgeo.roles counted as a trusted
-- maintenance path (002, 004). Behind a transaction-mode pooler the web app's
-- connections carry nothing at session level (gridgeo.db.pool sets everything per
-- transaction), so an application transaction that skipped naming its caller would have
-- been trusted. Now only gridgeo.maintenance = 'on' (gridgeo.db.pool.connect, on a direct
-- connection) is trusted; an unset gridgeo.roles means no role at all: less than
-- anonymous, it reaches no protected row. request_roles() already says so (NULL).
DO $$
BEGIN
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION gridgeo.request_trusted() RETURNS boolean
            LANGUAGE sql STABLE PARALLEL SAFE
            AS $b$ SELECT coalesce(current_setting('gridgeo.maintenance', true), '') = 'on'
                          AND (session_user = %1$L OR NOT gridgeo.request_editor()) $b$;
    $f$, session_user);
END $$;
