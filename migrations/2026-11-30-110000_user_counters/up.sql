-- Each organization and each role keeps the count of its users, so that a list reads the counts of
-- the rows it shows instead of counting index entries: at 1M users, counting made a page of
-- organizations 3 to 4 times slower than at 10k, and so did `total` in a list of an
-- organization's users.

-- No user is written from here to the commit, so that the backfill below and the triggers that
-- take over from it see the same users (this mode is also the one CREATE TRIGGER takes).
LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE organizations
    ADD COLUMN users bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT organizations_users_check CHECK (users >= 0);
ALTER TABLE roles
    ADD COLUMN users bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT roles_users_check CHECK (users >= 0);

-- A user joining or leaving does not change the organization or the role as a client sees it: a
-- write that changes the count leaves `updated` alone (the counting triggers change nothing else).
-- Every other write still sets it, even one that changes no column, as a role patch of only
-- permissions or limits does (`SET name = name`); a column list (`UPDATE OF name`) would not, and
-- would miss the columns added later.
DROP TRIGGER organizations_set_updated ON organizations;
CREATE TRIGGER organizations_set_updated
    BEFORE UPDATE ON organizations
    FOR EACH ROW WHEN (NEW.users = OLD.users) EXECUTE FUNCTION set_updated();
DROP TRIGGER roles_set_updated ON roles;
CREATE TRIGGER roles_set_updated
    BEFORE UPDATE ON roles
    FOR EACH ROW WHEN (NEW.users = OLD.users) EXECUTE FUNCTION set_updated();

-- Users existing now; the foreign keys (ON DELETE RESTRICT) guarantee every one of them an
-- organization (or none) and a role that exist.
UPDATE organizations SET users = counted.users
FROM (
    SELECT organization_id, count(*) AS users FROM users
    WHERE organization_id IS NOT NULL GROUP BY organization_id
) AS counted
WHERE organizations.id = counted.organization_id;
UPDATE roles SET users = counted.users
FROM (SELECT role_id, count(*) AS users FROM users GROUP BY role_id) AS counted
WHERE roles.id = counted.role_id;

-- Counts the users a statement on `users` inserted (`new_users`) or deleted (`old_users`).
-- Statement-level, so that a bulk insert of a million users makes one aggregate update of a few
-- counters, not a million. Moves are counted by the row-level trigger further down.
--
-- The counters of a statement are locked in id order before any is written: two statements that
-- change the same counters (moves between organizations 1 and 2 in opposite directions) then take
-- their locks in one order, and one waits for the other; written in any other order, each could
-- hold one counter and wait for the other's, a deadlock. Organizations are always locked before
-- roles, for the same reason.
CREATE FUNCTION count_users() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    -- The net change of the statement for each (organization, role) pair, zero changes left out:
    -- a few rows however many users the statement wrote.
    organization_ids bigint[];
    role_ids bigint[];
    deltas bigint[];
    -- The net change of each organization, then of each role, in id order.
    ids bigint[];
    changes bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(organization_id), array_agg(role_id), array_agg(delta)
        INTO organization_ids, role_ids, deltas
        FROM (
            SELECT organization_id, role_id, count(*) AS delta FROM new_users GROUP BY 1, 2
        ) AS pairs;
    ELSE
        SELECT array_agg(organization_id), array_agg(role_id), array_agg(delta)
        INTO organization_ids, role_ids, deltas
        FROM (
            SELECT organization_id, role_id, -count(*) AS delta FROM old_users GROUP BY 1, 2
        ) AS pairs;
    END IF;
    IF deltas IS NULL THEN
        RETURN NULL;
    END IF;

    SELECT array_agg(id ORDER BY id), array_agg(delta ORDER BY id) INTO ids, changes
    FROM (
        SELECT id, sum(delta)::bigint AS delta
        FROM unnest(organization_ids, deltas) AS pairs (id, delta)
        WHERE id IS NOT NULL
        GROUP BY id
        HAVING sum(delta) <> 0
    ) AS net;
    PERFORM 1 FROM organizations WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
    UPDATE organizations SET users = organizations.users + net.delta
    FROM unnest(ids, changes) AS net (id, delta)
    WHERE organizations.id = net.id;

    SELECT array_agg(id ORDER BY id), array_agg(delta ORDER BY id) INTO ids, changes
    FROM (
        SELECT id, sum(delta)::bigint AS delta
        FROM unnest(role_ids, deltas) AS pairs (id, delta)
        GROUP BY id
        HAVING sum(delta) <> 0
    ) AS net;
    PERFORM 1 FROM roles WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
    UPDATE roles SET users = roles.users + net.delta
    FROM unnest(ids, changes) AS net (id, delta)
    WHERE roles.id = net.id;
    RETURN NULL;
END;
$$;

-- PostgreSQL allows transition tables only on triggers of one event each.
CREATE TRIGGER users_count_inserted
    AFTER INSERT ON users REFERENCING NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION count_users();
CREATE TRIGGER users_count_deleted
    AFTER DELETE ON users REFERENCING OLD TABLE AS old_users
    FOR EACH STATEMENT EXECUTE FUNCTION count_users();

-- A user moved to another organization or role. Row-level, with a WHEN that PostgreSQL checks
-- without calling any function: updates that move no one, budget debits above all (one per
-- request of the gateway), run no trigger code. A statement-level trigger with transition tables
-- cannot be limited to some columns, and cost those debits a fifth to a third of their rate.
-- The two counters of a move are locked in id order, organizations before roles, as above; the
-- application moves one user per statement, so two moves cannot deadlock. (Two hand-written
-- statements moving many users each in opposite directions could: PostgreSQL would abort one.)
CREATE FUNCTION count_moved_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.organization_id IS DISTINCT FROM NEW.organization_id THEN
        PERFORM 1 FROM organizations WHERE id IN (OLD.organization_id, NEW.organization_id)
        ORDER BY id FOR NO KEY UPDATE;
        UPDATE organizations SET users = users - 1 WHERE id = OLD.organization_id;
        UPDATE organizations SET users = users + 1 WHERE id = NEW.organization_id;
    END IF;
    IF OLD.role_id IS DISTINCT FROM NEW.role_id THEN
        PERFORM 1 FROM roles WHERE id IN (OLD.role_id, NEW.role_id) ORDER BY id FOR NO KEY UPDATE;
        UPDATE roles SET users = users - 1 WHERE id = OLD.role_id;
        UPDATE roles SET users = users + 1 WHERE id = NEW.role_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_count_moved
    AFTER UPDATE OF organization_id, role_id ON users
    FOR EACH ROW
    WHEN (OLD.organization_id IS DISTINCT FROM NEW.organization_id
          OR OLD.role_id IS DISTINCT FROM NEW.role_id)
    EXECUTE FUNCTION count_moved_user();

-- TRUNCATE fires no delete trigger: it empties the counters itself, locked in the same order.
CREATE FUNCTION uncount_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM organizations WHERE users <> 0 ORDER BY id FOR NO KEY UPDATE;
    UPDATE organizations SET users = 0 WHERE users <> 0;
    PERFORM 1 FROM roles WHERE users <> 0 ORDER BY id FOR NO KEY UPDATE;
    UPDATE roles SET users = 0 WHERE users <> 0;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_count_truncated
    AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION uncount_users();
