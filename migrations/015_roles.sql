-- Roles in use (issue 11): the built-in admin role, when a role was granted, and the
-- lookup "who holds this role" (list-admins, the last-admin rule) without a scan.
INSERT INTO roles (name) VALUES ('admin') ON CONFLICT (name) DO NOTHING;
ALTER TABLE user_roles ADD COLUMN granted_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX user_roles_role_idx ON user_roles (role_id);
