-- A page of an organization's (or a role's) users is ordered by id: with the id in the index, the
-- page is read straight from it, and the user counts of organization and role lists are
-- index-only scans, however many users there are in all.
DROP INDEX users_organization_id_idx;
DROP INDEX users_role_id_idx;
CREATE INDEX users_organization_id_idx ON users (organization_id, id);
CREATE INDEX users_role_id_idx ON users (role_id, id);
