-- Contactpoint on PostgreSQL: what the application role may do (docs/operations.md).
-- Run as the schema owner, inside the database, after every `contactpoint db upgrade`
-- (new tables need their grants):  psql "$OWNER_URL" -v ON_ERROR_STOP=1 -f docs/sql/app-grants.sql
--
-- contactpoint_app is the NOLOGIN role migration 0005_audit creates; the login roles the
-- service and the batch jobs use are members of it and own nothing.

GRANT USAGE ON SCHEMA public TO contactpoint_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO contactpoint_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO contactpoint_app;

-- The audit trail: append, never change (as migration 0005_audit grants). UPDATE of the
-- chain head is needed to extend the chain; a trigger lets it move forward only.
REVOKE ALL ON audit_event, audit_checkpoint, audit_head FROM contactpoint_app;
GRANT SELECT, INSERT ON audit_event, audit_checkpoint TO contactpoint_app;
GRANT SELECT, UPDATE ON audit_head TO contactpoint_app;

-- The schema version: read (every command checks it), never written (only the owner migrates).
REVOKE ALL ON alembic_version FROM contactpoint_app;
GRANT SELECT ON alembic_version TO contactpoint_app;
