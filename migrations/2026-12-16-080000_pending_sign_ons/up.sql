-- Sign-ins sent to the identity provider and not yet back. In the database, not in one instance's
-- memory, because the provider may send the person back to another instance. A row is found by
-- the SHA-256 of its `state` (the state itself is a bearer secret for ten minutes) and deleted by
-- the callback that finishes it, so that a state works once.
CREATE TABLE pending_sign_ons (
    state_digest BYTEA PRIMARY KEY,
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    redirect TEXT NOT NULL,
    expires TIMESTAMPTZ NOT NULL
);

-- Starting a sign-in sweeps the expired ones away.
CREATE INDEX pending_sign_ons_expires ON pending_sign_ons (expires);
