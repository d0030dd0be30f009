-- New rows get microseconds again; the fractions truncated on the way up are gone for good.
ALTER TABLE project_members ALTER COLUMN created SET DEFAULT now();
ALTER TABLE api_keys ALTER COLUMN created SET DEFAULT now();
ALTER TABLE projects
    ALTER COLUMN created SET DEFAULT now(),
    ALTER COLUMN updated SET DEFAULT now();
ALTER TABLE users
    ALTER COLUMN created SET DEFAULT now(),
    ALTER COLUMN updated SET DEFAULT now();
ALTER TABLE roles
    ALTER COLUMN created SET DEFAULT now(),
    ALTER COLUMN updated SET DEFAULT now();
ALTER TABLE organizations
    ALTER COLUMN created SET DEFAULT now(),
    ALTER COLUMN updated SET DEFAULT now();

CREATE OR REPLACE FUNCTION set_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated := now();
    RETURN NEW;
END;
$$;
