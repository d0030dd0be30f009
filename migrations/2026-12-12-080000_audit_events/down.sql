DROP FUNCTION purge_audit_events(timestamptz, date);
DROP TABLE audit_purges;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
