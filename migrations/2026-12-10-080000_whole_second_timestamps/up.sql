-- `created` and `updated` are stored at whole seconds, the precision the API shows them in.
--
-- Lists sort by `created` or `updated`, then by id (API.md): two rows shown with the same second
-- must come in id order. Stored with microseconds, they came in the order of the hidden fraction
-- instead. Stored at whole seconds, the column sorts as the answer shows it, and a plain
-- `ORDER BY created, id` (with its index, where there is one) stays right; an order by
-- `date_trunc('second', created)` would need an expression index, which PostgreSQL refuses for a
-- timestamptz (the function is only STABLE there).
--
-- The database stamps these columns (defaults, and `set_updated` for `updated`), except
-- `usage_records.created`, which the gateway's usage reports bring from the application's clock:
-- the adapter truncates that one before it writes it (crates/infrastructure, repositories/gateway.rs).

CREATE OR REPLACE FUNCTION set_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated := date_trunc('second', now());
    RETURN NEW;
END;
$$;

ALTER TABLE organizations
    ALTER COLUMN created SET DEFAULT date_trunc('second', now()),
    ALTER COLUMN updated SET DEFAULT date_trunc('second', now());
ALTER TABLE roles
    ALTER COLUMN created SET DEFAULT date_trunc('second', now()),
    ALTER COLUMN updated SET DEFAULT date_trunc('second', now());
ALTER TABLE users
    ALTER COLUMN created SET DEFAULT date_trunc('second', now()),
    ALTER COLUMN updated SET DEFAULT date_trunc('second', now());
ALTER TABLE projects
    ALTER COLUMN created SET DEFAULT date_trunc('second', now()),
    ALTER COLUMN updated SET DEFAULT date_trunc('second', now());
ALTER TABLE api_keys ALTER COLUMN created SET DEFAULT date_trunc('second', now());
ALTER TABLE project_members ALTER COLUMN created SET DEFAULT date_trunc('second', now());

-- The rows already there, to the second they were shown with. `set_updated` would stamp `updated`
-- with the time of this migration: it is off for these updates (the migration is one transaction,
-- so no other write goes without it). Only rows with a fraction are written.
ALTER TABLE organizations DISABLE TRIGGER organizations_set_updated;
UPDATE organizations
SET created = date_trunc('second', created), updated = date_trunc('second', updated)
WHERE created <> date_trunc('second', created) OR updated <> date_trunc('second', updated);
ALTER TABLE organizations ENABLE TRIGGER organizations_set_updated;

ALTER TABLE roles DISABLE TRIGGER roles_set_updated;
UPDATE roles
SET created = date_trunc('second', created), updated = date_trunc('second', updated)
WHERE created <> date_trunc('second', created) OR updated <> date_trunc('second', updated);
ALTER TABLE roles ENABLE TRIGGER roles_set_updated;

ALTER TABLE users DISABLE TRIGGER users_set_updated;
UPDATE users
SET created = date_trunc('second', created), updated = date_trunc('second', updated)
WHERE created <> date_trunc('second', created) OR updated <> date_trunc('second', updated);
ALTER TABLE users ENABLE TRIGGER users_set_updated;

ALTER TABLE projects DISABLE TRIGGER projects_set_updated;
UPDATE projects
SET created = date_trunc('second', created), updated = date_trunc('second', updated)
WHERE created <> date_trunc('second', created) OR updated <> date_trunc('second', updated);
ALTER TABLE projects ENABLE TRIGGER projects_set_updated;

UPDATE api_keys SET created = date_trunc('second', created)
WHERE created <> date_trunc('second', created);
UPDATE project_members SET created = date_trunc('second', created)
WHERE created <> date_trunc('second', created);
UPDATE usage_records SET created = date_trunc('second', created)
WHERE created <> date_trunc('second', created);
