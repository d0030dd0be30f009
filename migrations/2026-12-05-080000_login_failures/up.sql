-- Failed logins, counted per email and per client address, so that guessing passwords is throttled
-- alike by every instance that serves this database. A row is one window of failures under one
-- key: it starts at the first failure and lasts as long as the application says; a failure after
-- it starts a new window. Rows of windows that ended read as nothing, and each failure sweeps a few
-- of them away.
-- `key` is the SHA-256 of `email:<email in lower case>` or `addr:<address>`: any text typed at the
-- login fits the index, and no address typed there is kept in clear.
CREATE TABLE login_failures (
    key bytea NOT NULL,
    window_start timestamptz NOT NULL,
    failures integer NOT NULL,
    CONSTRAINT login_failures_pkey PRIMARY KEY (key),
    CONSTRAINT login_failures_key_check CHECK (octet_length(key) = 32),
    CONSTRAINT login_failures_failures_check CHECK (failures > 0)
);

-- Finds the windows that ended, oldest first, for the sweep.
CREATE INDEX login_failures_window_start_idx ON login_failures (window_start);
