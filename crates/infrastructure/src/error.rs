//! The one place where diesel and r2d2 errors become [`DomainError`]s.
//!
//! Constraint violations are recognised by the constraint's name, as the migrations name them, never
//! by the text of the message. A foreign key tells two stories depending on the statement that broke
//! it: an insert or update that points at a missing row (the referenced entity is not found), or a
//! delete of a row that others still point at (the referenced entity is in use). The statement is
//! known only to the caller, hence [`on_query`] and [`on_delete`], which share one table of
//! constraints.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use gatehouse_domain::{DomainError, Entity, ValueError};

/// Unique constraints and indexes, and the entity whose property is taken.
const UNIQUE: &[(&str, Entity)] = &[
    ("organizations_name_key", Entity::Organization),
    ("roles_name_key", Entity::Role),
    ("users_email_key", Entity::User),
    ("users_iss_sub_key", Entity::User),
    ("api_keys_hash_key", Entity::ApiKey),
    ("projects_organization_id_name_key", Entity::Project),
];

/// A foreign key: the entity it points at, and the entity that holds it (when the contract has a
/// name for it).
struct ForeignKey {
    constraint: &'static str,
    referenced: Entity,
    referencing: Option<Entity>,
}

const FOREIGN_KEYS: &[ForeignKey] = &[
    ForeignKey {
        constraint: "users_role_id_fkey",
        referenced: Entity::Role,
        referencing: Some(Entity::User),
    },
    ForeignKey {
        constraint: "users_organization_id_fkey",
        referenced: Entity::Organization,
        referencing: Some(Entity::User),
    },
    ForeignKey {
        constraint: "api_keys_user_id_fkey",
        referenced: Entity::User,
        referencing: Some(Entity::ApiKey),
    },
    ForeignKey {
        constraint: "projects_organization_id_fkey",
        referenced: Entity::Organization,
        referencing: Some(Entity::Project),
    },
    // A project-bound key points at its owner's membership (ON DELETE CASCADE). The contract
    // refuses a key in a project the owner is not a member of as if the project did not exist.
    ForeignKey {
        constraint: "api_keys_membership_fkey",
        referenced: Entity::Project,
        referencing: None,
    },
    // Permissions and limits go with their role (ON DELETE CASCADE): these only fail on a write,
    // when the role vanished in the meantime.
    ForeignKey {
        constraint: "role_permissions_role_id_fkey",
        referenced: Entity::Role,
        referencing: None,
    },
    ForeignKey {
        constraint: "role_limits_role_id_fkey",
        referenced: Entity::Role,
        referencing: None,
    },
    // Likewise the limits and memberships of a project, and the memberships of a user.
    ForeignKey {
        constraint: "project_limits_project_id_fkey",
        referenced: Entity::Project,
        referencing: None,
    },
    ForeignKey {
        constraint: "project_members_project_id_fkey",
        referenced: Entity::Project,
        referencing: None,
    },
    ForeignKey {
        constraint: "project_members_user_id_fkey",
        referenced: Entity::User,
        referencing: None,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Write,
    Delete,
}

/// Maps the error of a read, an insert or an update: a broken foreign key means the row it points
/// at does not exist.
pub(crate) fn on_query(error: DieselError) -> DomainError {
    classify(error, Operation::Write)
}

/// Maps the error of a delete: a broken foreign key means other rows still point at this one.
pub(crate) fn on_delete(error: DieselError) -> DomainError {
    classify(error, Operation::Delete)
}

/// Failing to get a connection from the pool (the database is down or every connection is busy
/// past the timeout) is an outage, not a bug.
pub(crate) fn on_pool(error: diesel::r2d2::PoolError) -> DomainError {
    DomainError::Unavailable(Box::new(error))
}

/// A migration that fails is a bug in it or a database changed by hand: nothing a retry fixes.
pub(crate) fn on_migration(error: gatehouse_domain::BoxError) -> DomainError {
    DomainError::Unexpected(error)
}

fn classify(error: DieselError, operation: Operation) -> DomainError {
    if let DieselError::DatabaseError(kind, info) = &error {
        let constraint = info.constraint_name();
        match kind {
            DatabaseErrorKind::UniqueViolation => {
                if let Some(entity) = unique_entity(constraint) {
                    return DomainError::AlreadyExists(entity);
                }
            }
            DatabaseErrorKind::ForeignKeyViolation => {
                if let Some(key) = foreign_key(constraint) {
                    match (operation, key.referencing) {
                        (Operation::Write, _) => return DomainError::NotFound(key.referenced),
                        (Operation::Delete, Some(used_by)) => {
                            return DomainError::InUse {
                                entity: key.referenced,
                                used_by,
                            };
                        }
                        (Operation::Delete, None) => {}
                    }
                }
            }
            // A connection that died since its last use fails to send, or finds itself closed.
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                return DomainError::Unavailable(Box::new(error));
            }
            // A statement past `statement_timeout`: the database is too slow now, as when it is
            // down. diesel gives no SQLSTATE (57014), so PostgreSQL's English sentence tells.
            _ if info.message().starts_with(STATEMENT_TIMEOUT) => {
                return DomainError::Unavailable(Box::new(error));
            }
            _ => {}
        }
    }
    DomainError::Unexpected(Box::new(error))
}

/// How PostgreSQL (in English, its default) says a statement ran past `statement_timeout`.
const STATEMENT_TIMEOUT: &str = "canceling statement due to statement timeout";

fn unique_entity(constraint: Option<&str>) -> Option<Entity> {
    let constraint = constraint?;
    UNIQUE
        .iter()
        .find(|(name, _)| *name == constraint)
        .map(|(_, entity)| *entity)
}

fn foreign_key(constraint: Option<&str>) -> Option<&'static ForeignKey> {
    let constraint = constraint?;
    FOREIGN_KEYS.iter().find(|key| key.constraint == constraint)
}

/// A stored value that the domain refuses: the data was changed behind Gatehouse's back.
#[derive(Debug, thiserror::Error)]
#[error("stored {table}.{column} is invalid: {source}")]
pub(crate) struct CorruptData {
    table: &'static str,
    column: &'static str,
    #[source]
    source: ValueError,
}

/// Turns a refused stored value into [`DomainError::Unexpected`], naming where it was read.
pub(crate) fn corrupt(
    table: &'static str,
    column: &'static str,
) -> impl Fn(ValueError) -> DomainError {
    move |source| {
        DomainError::unexpected(CorruptData {
            table,
            column,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error details as PostgreSQL reports them, without a database.
    struct Info(Option<&'static str>);

    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &'static str {
            "violation"
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            self.0
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn database_error(kind: DatabaseErrorKind, constraint: Option<&'static str>) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(Info(constraint)))
    }

    #[test]
    fn every_unique_constraint_names_the_entity_that_already_exists() {
        for (constraint, entity) in UNIQUE {
            let error = on_query(database_error(
                DatabaseErrorKind::UniqueViolation,
                Some(constraint),
            ));
            assert!(
                matches!(error, DomainError::AlreadyExists(e) if e == *entity),
                "{constraint}: {error:?}"
            );
        }
    }

    #[test]
    fn a_foreign_key_broken_by_a_write_is_the_referenced_entity_not_found() {
        for key in FOREIGN_KEYS {
            let error = on_query(database_error(
                DatabaseErrorKind::ForeignKeyViolation,
                Some(key.constraint),
            ));
            assert!(
                matches!(error, DomainError::NotFound(e) if e == key.referenced),
                "{}: {error:?}",
                key.constraint
            );
        }
    }

    #[test]
    fn a_foreign_key_broken_by_a_delete_is_the_referenced_entity_in_use() {
        let error = on_delete(database_error(
            DatabaseErrorKind::ForeignKeyViolation,
            Some("users_role_id_fkey"),
        ));
        assert!(matches!(
            error,
            DomainError::InUse {
                entity: Entity::Role,
                used_by: Entity::User
            }
        ));
        let error = on_delete(database_error(
            DatabaseErrorKind::ForeignKeyViolation,
            Some("users_organization_id_fkey"),
        ));
        assert!(matches!(
            error,
            DomainError::InUse {
                entity: Entity::Organization,
                used_by: Entity::User
            }
        ));
        let error = on_delete(database_error(
            DatabaseErrorKind::ForeignKeyViolation,
            Some("projects_organization_id_fkey"),
        ));
        assert!(matches!(
            error,
            DomainError::InUse {
                entity: Entity::Organization,
                used_by: Entity::Project
            }
        ));
    }

    #[test]
    fn unknown_constraints_and_other_failures_are_unexpected() {
        let unknown = [
            database_error(DatabaseErrorKind::UniqueViolation, Some("other_key")),
            database_error(DatabaseErrorKind::UniqueViolation, None),
            database_error(DatabaseErrorKind::ForeignKeyViolation, Some("other_fkey")),
            database_error(
                DatabaseErrorKind::CheckViolation,
                Some("users_budget_check"),
            ),
            DieselError::NotFound,
        ];
        for error in unknown {
            assert!(matches!(on_query(error), DomainError::Unexpected(_)));
        }
        for cascade in [
            "role_limits_role_id_fkey",
            "project_members_user_id_fkey",
            "api_keys_membership_fkey",
        ] {
            let error = database_error(DatabaseErrorKind::ForeignKeyViolation, Some(cascade));
            assert!(
                matches!(on_delete(error), DomainError::Unexpected(_)),
                "{cascade}"
            );
        }
    }

    /// An error PostgreSQL reports with `message` alone.
    struct Said(&'static str);

    impl diesel::result::DatabaseErrorInformation for Said {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    #[test]
    fn a_statement_past_its_timeout_is_unavailable_and_other_cancellations_unexpected() {
        let timeout = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(Said("canceling statement due to statement timeout")),
        );
        assert!(matches!(on_query(timeout), DomainError::Unavailable(_)));
        let cancelled = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(Said("canceling statement due to user request")),
        );
        assert!(matches!(on_query(cancelled), DomainError::Unexpected(_)));
    }

    #[test]
    fn a_lost_connection_is_unavailable() {
        for kind in [
            DatabaseErrorKind::ClosedConnection,
            DatabaseErrorKind::UnableToSendCommand,
        ] {
            let error = database_error(kind, None);
            assert!(matches!(on_query(error), DomainError::Unavailable(_)));
        }
    }

    #[test]
    fn corrupt_data_is_unexpected_and_says_where_it_was_read() {
        let error = corrupt("users", "email")(ValueError::new("value_error", "bad"));
        let DomainError::Unexpected(cause) = error else {
            panic!("expected Unexpected");
        };
        assert_eq!(cause.to_string(), "stored users.email is invalid: bad");
    }
}
