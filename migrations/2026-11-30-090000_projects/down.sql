-- A key bound to a project acts under the project's budget and limits; without the column it
-- would act as its owner alone, with more rights than it was given. Delete such keys instead.
DELETE FROM api_keys WHERE project_id IS NOT NULL;
-- Drops api_keys_membership_fkey and api_keys_membership_idx with the column.
ALTER TABLE api_keys DROP COLUMN project_id;
DROP TABLE project_members;
DROP TABLE project_limits;
DROP TABLE projects;
