DROP TABLE role_limits;
DROP TABLE role_permissions;
DROP TABLE roles;
