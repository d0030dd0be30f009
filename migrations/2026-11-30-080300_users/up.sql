CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    name text,
    password_hash text,
    sub text,
    iss text,
    role_id bigint NOT NULL,
    organization_id bigint,
    budget double precision,
    expires timestamptz,
    priority bigint NOT NULL DEFAULT 0,
    created timestamptz NOT NULL DEFAULT now(),
    updated timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_role_id_fkey FOREIGN KEY (role_id)
        REFERENCES roles (id) ON DELETE RESTRICT,
    CONSTRAINT users_organization_id_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE RESTRICT,
    CONSTRAINT users_email_length CHECK (char_length(email) BETWEEN 1 AND 254),
    CONSTRAINT users_name_length CHECK (char_length(name) BETWEEN 1 AND 255),
    -- NaN compares greater than every number in PostgreSQL, 'Infinity' included: the upper bound
    -- keeps both out.
    CONSTRAINT users_budget_check CHECK (budget >= 0 AND budget < 'Infinity'),
    CONSTRAINT users_priority_check CHECK (priority >= 0)
);

-- Email addresses are unique without regard to case; the list filter uses this index too.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_role_id_idx ON users (role_id);
CREATE INDEX users_organization_id_idx ON users (organization_id);

CREATE TRIGGER users_set_updated
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated();
