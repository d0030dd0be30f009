-- The audit log: one row per change made through the API and per login attempt, written by the
-- transaction of the change it records, so that a change that rolls back leaves no event.
--
-- Append-only: a statement trigger refuses UPDATE, DELETE and TRUNCATE, except the DELETE that
-- `purge_audit_events` makes, which it lets through by a transaction-local setting that only it
-- sets (and resets). This keeps the application, and anyone who reaches the table by mistake,
-- from changing the log; the owner of the database can still drop the trigger: a log that must
-- resist them needs a role of its own without that right.
--
-- No foreign key: an event outlives the user, key or object it names.
-- `before` and `after` are `json`, not `jsonb`, so that they keep the text, key order included,
-- of the object as the API shows it.
CREATE TABLE audit_events (
    id bigint GENERATED ALWAYS AS IDENTITY,
    created timestamptz NOT NULL DEFAULT date_trunc('second', now()),
    actor_user bigint,
    actor_key bigint,
    actor_address inet,
    request_id text,
    action text NOT NULL,
    entity_type text NOT NULL,
    entity_id bigint,
    before json,
    after json,
    CONSTRAINT audit_events_pkey PRIMARY KEY (id),
    CONSTRAINT audit_events_action_check CHECK (action IN ('create', 'update', 'delete',
        'add_member', 'remove_member', 'login', 'login_failed', 'password_change')),
    CONSTRAINT audit_events_entity_type_check CHECK (entity_type IN ('organization', 'user',
        'role', 'token', 'project', 'session')),
    CONSTRAINT audit_events_request_id_check CHECK (char_length(request_id) BETWEEN 1 AND 128)
);

-- One index per filter of the list, each ending with `id`: a filtered page is read in `id` order
-- from its index, whatever the size of the table. The two that answer an auditor's usual
-- questions (what did this actor do, what happened to this object) include the other filters'
-- columns, so that combined filters (an actor's failed logins) are counted and paged from the
-- index alone, without reading an event per match. `created` also serves the purge.
CREATE INDEX audit_events_actor_idx ON audit_events (actor_user, id)
    INCLUDE (action, entity_type, entity_id, created);
CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id, id)
    INCLUDE (actor_user, action, created);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_created_idx ON audit_events (created, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('gatehouse.audit_purge', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit events cannot be changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- The days on which the retention purge ran: the first instance to claim a day purges, the others
-- find the day taken and do nothing.
CREATE TABLE audit_purges (
    day date NOT NULL,
    deleted bigint NOT NULL DEFAULT 0,
    ran timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_purges_pkey PRIMARY KEY (day)
);

-- Deletes the events written before `cutoff`, once for `purge_day`: NULL when that day's purge
-- already ran (here or in another instance), else the number of events deleted.
CREATE FUNCTION purge_audit_events(cutoff timestamptz, purge_day date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    purged bigint;
BEGIN
    INSERT INTO audit_purges (day) VALUES (purge_day) ON CONFLICT (day) DO NOTHING;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('gatehouse.audit_purge', 'on', true);
    DELETE FROM audit_events WHERE created < cutoff;
    GET DIAGNOSTICS purged = ROW_COUNT;
    PERFORM set_config('gatehouse.audit_purge', 'off', true);
    UPDATE audit_purges SET deleted = purged WHERE day = purge_day;
    RETURN purged;
END
$$;
