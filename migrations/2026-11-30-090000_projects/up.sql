-- A project belongs to one organization for good: its organization is never updated, and an
-- organization cannot be deleted while it has projects.
CREATE TABLE projects (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    organization_id bigint NOT NULL,
    budget double precision,
    created timestamptz NOT NULL DEFAULT now(),
    updated timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_organization_id_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE RESTRICT,
    -- Names are unique within an organization; starting with organization_id, this index also
    -- serves the foreign key and the list filter.
    CONSTRAINT projects_organization_id_name_key UNIQUE (organization_id, name),
    CONSTRAINT projects_name_length CHECK (char_length(name) BETWEEN 1 AND 255),
    -- As users_budget_check: NaN compares greater than 'Infinity', so the upper bound keeps both out.
    CONSTRAINT projects_budget_check CHECK (budget >= 0 AND budget < 'Infinity')
);

CREATE TRIGGER projects_set_updated
    BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION set_updated();

CREATE TABLE project_limits (
    project_id bigint NOT NULL,
    router_id bigint NOT NULL,
    type text NOT NULL,
    value bigint,
    CONSTRAINT project_limits_pkey PRIMARY KEY (project_id, router_id, type),
    CONSTRAINT project_limits_project_id_fkey FOREIGN KEY (project_id)
        REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT project_limits_router_id_check CHECK (router_id >= 1),
    CONSTRAINT project_limits_type_check CHECK (type IN ('tpm', 'tpd', 'rpm', 'rpd')),
    CONSTRAINT project_limits_value_check CHECK (value >= 0)
);

-- A membership goes with its project and with its user.
CREATE TABLE project_members (
    project_id bigint NOT NULL,
    user_id bigint NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT project_members_pkey PRIMARY KEY (project_id, user_id),
    CONSTRAINT project_members_project_id_fkey FOREIGN KEY (project_id)
        REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT project_members_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX project_members_user_id_idx ON project_members (user_id);

-- A key bound to a project points at its owner's membership, so that the database itself keeps
-- such a key only while the owner is a member and the project exists: ending the membership or
-- deleting the project deletes the key. MATCH SIMPLE (the default) leaves keys without a project
-- unchecked.
ALTER TABLE api_keys
    ADD COLUMN project_id bigint,
    ADD CONSTRAINT api_keys_membership_fkey FOREIGN KEY (project_id, user_id)
        REFERENCES project_members (project_id, user_id) ON DELETE CASCADE;

-- For the cascade from project_members; unbound keys, the most, stay out of it.
CREATE INDEX api_keys_membership_idx ON api_keys (project_id, user_id)
    WHERE project_id IS NOT NULL;
