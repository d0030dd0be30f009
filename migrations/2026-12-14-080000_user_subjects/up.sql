-- Single sign-on finds a user by the provider that vouches for them and their id there: one user
-- per (iss, sub), so that one person at one provider is never two accounts. Email/password
-- accounts have neither and are not indexed.
CREATE UNIQUE INDEX users_iss_sub_key ON users (iss, sub) WHERE iss IS NOT NULL AND sub IS NOT NULL;
