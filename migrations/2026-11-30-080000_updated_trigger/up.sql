-- Keeps every `updated` column right whoever writes the row: the adapters never set it themselves.
CREATE FUNCTION set_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated := now();
    RETURN NEW;
END;
$$;
