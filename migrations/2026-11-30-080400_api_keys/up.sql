-- A key is stored only as the SHA-256 of the key and its masked form; it is never updated, so it
-- has no `updated` column.
CREATE TABLE api_keys (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    user_id bigint NOT NULL,
    hash bytea NOT NULL,
    masked text NOT NULL,
    expires timestamptz,
    created timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_keys_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT api_keys_hash_key UNIQUE (hash),
    CONSTRAINT api_keys_name_length CHECK (char_length(name) BETWEEN 1 AND 255)
);

CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);
