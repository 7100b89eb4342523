-- requires: incidents/012
-- Who may change the deadline rules (the SLA table) through the API: a role that
-- gridgeo.incident_authorities names for 'sla' (admin by default), checked by the database
-- for every statement, so no route can forget it. Loaders and psql (no API caller) are
-- trusted, as for colours and verification.
ALTER TABLE gridgeo.incident_authorities
    DROP CONSTRAINT incident_authorities_action_check,
    ADD CONSTRAINT incident_authorities_action_check
        CHECK (action IN ('recolour', 'verify', 'sla'));
INSERT INTO gridgeo.incident_authorities (action, role) VALUES ('sla', 'admin')
    ON CONFLICT DO NOTHING;

CREATE FUNCTION gridgeo.incident_sla_writer() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF nullif(current_setting('gridgeo.actor', true), '') IS NOT NULL
       AND NOT EXISTS (SELECT FROM gridgeo.incident_authorities
                        WHERE action = 'sla' AND gridgeo.request_has_role(role)) THEN
        RAISE EXCEPTION 'your role may not change the deadline rules; ask one of: %.',
            (SELECT string_agg(role, ', ' ORDER BY role) FROM gridgeo.incident_authorities
              WHERE action = 'sla') USING ERRCODE = 'GG403';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER incident_sla_writer BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON gridgeo.incident_sla FOR EACH STATEMENT EXECUTE FUNCTION gridgeo.incident_sla_writer();

-- A colour without its default rule (no difficulty, no category) would leave its cases
-- without deadlines: the first sentence saying which, or NULL when every colour has one.
CREATE FUNCTION gridgeo.incident_sla_defaults_problem() RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT format('colour %s has no default rule (difficulty and category_code both null); '
                  'every colour needs one.', string_agg(k.colour, ', ' ORDER BY k.rank))
      FROM gridgeo.incident_colours k
     WHERE NOT EXISTS (SELECT FROM gridgeo.incident_sla s WHERE s.colour = k.colour
                         AND s.difficulty IS NULL AND s.category_code IS NULL)
    HAVING count(*) > 0 $$;
