DROP FUNCTION set_updated();
