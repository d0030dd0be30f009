CREATE TABLE roles (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    updated timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT roles_name_key UNIQUE (name),
    CONSTRAINT roles_name_length CHECK (char_length(name) BETWEEN 1 AND 255)
);

CREATE TRIGGER roles_set_updated
    BEFORE UPDATE ON roles
    FOR EACH ROW EXECUTE FUNCTION set_updated();

-- The primary keys start with role_id, so they also index the foreign keys.
CREATE TABLE role_permissions (
    role_id bigint NOT NULL,
    permission text NOT NULL,
    CONSTRAINT role_permissions_pkey PRIMARY KEY (role_id, permission),
    CONSTRAINT role_permissions_role_id_fkey FOREIGN KEY (role_id)
        REFERENCES roles (id) ON DELETE CASCADE,
    CONSTRAINT role_permissions_permission_check
        CHECK (permission IN ('admin', 'create_public_collection', 'read_metric', 'provide_models'))
);

CREATE TABLE role_limits (
    role_id bigint NOT NULL,
    router_id bigint NOT NULL,
    type text NOT NULL,
    value bigint,
    CONSTRAINT role_limits_pkey PRIMARY KEY (role_id, router_id, type),
    CONSTRAINT role_limits_role_id_fkey FOREIGN KEY (role_id)
        REFERENCES roles (id) ON DELETE CASCADE,
    CONSTRAINT role_limits_router_id_check CHECK (router_id >= 1),
    CONSTRAINT role_limits_type_check CHECK (type IN ('tpm', 'tpd', 'rpm', 'rpd')),
    CONSTRAINT role_limits_value_check CHECK (value >= 0)
);
