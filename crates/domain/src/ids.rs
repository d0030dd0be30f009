//! Identifier newtypes, so that a user id can never be passed where a role id is expected.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw integer, as stored and as shown to clients.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Identifies an organization.
    OrganizationId
);
id_type!(
    /// Identifies a user; `0` is the built-in master user, which is never stored.
    UserId
);
id_type!(
    /// Identifies a role.
    RoleId
);
id_type!(
    /// Identifies an API key.
    ApiKeyId
);
id_type!(
    /// Identifies a project.
    ProjectId
);
id_type!(
    /// Identifies a usage record.
    UsageId
);

impl UserId {
    /// The built-in master user, authenticated by the configured master key.
    pub const MASTER: Self = Self(0);

    /// Whether this is the built-in master user.
    pub fn is_master(self) -> bool {
        self == Self::MASTER
    }
}

/// What holds a budget or a rate limit counter: a user, or a project (for its members together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holder {
    /// A user, for all their keys together.
    User(UserId),
    /// A project, for all its members' keys bound to it together.
    Project(ProjectId),
}

impl Holder {
    /// The word clients read for the kind of holder: `user` or `project`.
    pub fn scope(self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Project(_) => "project",
        }
    }
}
