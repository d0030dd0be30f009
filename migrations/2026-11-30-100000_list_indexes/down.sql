DROP INDEX users_organization_id_idx;
DROP INDEX users_role_id_idx;
CREATE INDEX users_organization_id_idx ON users (organization_id);
CREATE INDEX users_role_id_idx ON users (role_id);
