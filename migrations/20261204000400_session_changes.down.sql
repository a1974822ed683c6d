DROP TRIGGER users_deleted ON users;
DROP TRIGGER users_auth_changed ON users;
DROP TRIGGER sessions_changed ON sessions;
DROP FUNCTION truffle_account_changed();
DROP FUNCTION truffle_session_changed();
