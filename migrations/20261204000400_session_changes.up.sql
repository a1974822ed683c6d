-- Every replica caches live sessions in memory; these triggers tell all of them, through
-- NOTIFY on `truffle_sessions`, when a session or its account changes in a way that matters to
-- authentication. They fire on every write path (the API, the CLI, an operator's SQL), and the
-- notification is delivered when the writing transaction commits.
--   s:<session id>  a session changed (revoked, refreshed, deleted)
--   u:<user id>     an account's role, status or verified identity changed, or it was deleted
CREATE FUNCTION truffle_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('truffle_sessions', 's:' || OLD.id::text);
    RETURN NULL;
END $$;

CREATE FUNCTION truffle_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('truffle_sessions', 'u:' || OLD.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER sessions_changed AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION truffle_session_changed();

CREATE TRIGGER users_auth_changed AFTER UPDATE OF role, status, person_key_hash ON users
    FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.person_key_hash IS DISTINCT FROM NEW.person_key_hash)
    EXECUTE FUNCTION truffle_account_changed();

CREATE TRIGGER users_deleted AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION truffle_account_changed();
