DROP TRIGGER users_count_truncated ON users;
DROP TRIGGER users_count_moved ON users;
DROP TRIGGER users_count_deleted ON users;
DROP TRIGGER users_count_inserted ON users;
DROP FUNCTION uncount_users();
DROP FUNCTION count_moved_user();
DROP FUNCTION count_users();

-- Every write sets `updated` again, as before the counters.
DROP TRIGGER organizations_set_updated ON organizations;
CREATE TRIGGER organizations_set_updated
    BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION set_updated();
DROP TRIGGER roles_set_updated ON roles;
CREATE TRIGGER roles_set_updated
    BEFORE UPDATE ON roles
    FOR EACH ROW EXECUTE FUNCTION set_updated();

-- Drops the CHECK constraints with the columns.
ALTER TABLE organizations DROP COLUMN users;
ALTER TABLE roles DROP COLUMN users;
