//! `gatehouse create-admin`: the first admin account, without the master key.

use std::sync::Arc;

use gatehouse_api::AuditView;
use gatehouse_application::{CreateUser, Principal, RoleService, UserService};
use gatehouse_domain::{
    Clock, DomainError, Email, Entity, Limits, Name, NewRole, PageRequest, Password, Permission,
    Priority, Role, RoleOrder, SystemClock, User,
};
use gatehouse_infrastructure::{
    Argon2PasswordHasher, AuditTrail, PgOrganizationRepository, PgPool, PgRoleRepository,
    PgUserRepository,
};

use crate::config::CreateAdminSettings;
use crate::startup::StartupError;

/// The name of the role `create-admin` gives.
pub const ADMIN_ROLE: &str = "admin";

/// Creates the user described by `settings` with the `admin` role, creating that role (with the
/// `admin` permission) if no role has that name.
///
/// # Errors
/// An invalid email, name or password; an email already taken; a role named `admin` without the
/// `admin` permission; an unreachable database.
pub async fn create_admin(
    pool: &PgPool,
    settings: &CreateAdminSettings,
) -> Result<User, StartupError> {
    let email = Email::parse(&settings.email).map_err(|error| format!("--email: {error}"))?;
    let password = Password::new(settings.password.expose())
        .map_err(|error| format!("--password: {error}"))?;
    let name = settings
        .name
        .as_deref()
        .map(Name::parse)
        .transpose()
        .map_err(|error| format!("--name: {error}"))?;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Recorded in the audit log as done by the master user, from no address and no request.
    let trail = AuditTrail::new(Arc::new(AuditView));
    let roles_repository = Arc::new(PgRoleRepository::new(pool.clone(), trail.clone()));
    let roles = RoleService::new(roles_repository.clone(), clock.clone());
    let users = UserService::new(
        Arc::new(PgUserRepository::new(pool.clone(), trail.clone())),
        roles_repository,
        Arc::new(PgOrganizationRepository::new(pool.clone(), trail)),
        Arc::new(Argon2PasswordHasher::new()?),
        clock,
    );
    let master = Principal::master();
    let role = admin_role(&roles, &master).await?;
    let user = users
        .create(
            &master,
            CreateUser {
                email,
                name,
                password,
                role: role.id,
                organization: None,
                budget: None,
                expires: None,
                priority: Priority::default(),
            },
        )
        .await
        .map_err(|error| match error {
            DomainError::AlreadyExists(Entity::User) => {
                StartupError::from("a user with this email already exists")
            }
            other => other.into(),
        })?;
    Ok(user)
}

/// The role named `admin`, created if missing; refused if it lacks the `admin` permission.
async fn admin_role(roles: &RoleService, master: &Principal) -> Result<Role, StartupError> {
    if let Some(role) = find_role(roles, master).await? {
        return check_admin(role);
    }
    let new = NewRole {
        name: Name::parse(ADMIN_ROLE)?,
        permissions: [Permission::Admin].into_iter().collect(),
        limits: Limits::default(),
    };
    match roles.create(master, new).await {
        Ok(role) => Ok(role),
        // Created meanwhile by someone else: use theirs.
        Err(DomainError::AlreadyExists(Entity::Role)) => match find_role(roles, master).await? {
            Some(role) => check_admin(role),
            None => Err("the admin role vanished while it was being created".into()),
        },
        Err(error) => Err(error.into()),
    }
}

fn check_admin(role: Role) -> Result<Role, StartupError> {
    if role.permissions.contains(Permission::Admin) {
        Ok(role)
    } else {
        Err(format!(
            "a role named '{ADMIN_ROLE}' exists without the admin permission; give it the permission or rename it"
        )
        .into())
    }
}

/// Looks for the role named `admin`, page by page (roles are few).
async fn find_role(roles: &RoleService, master: &Principal) -> Result<Option<Role>, StartupError> {
    let mut offset = 0;
    loop {
        let page = PageRequest::new(
            offset,
            PageRequest::<RoleOrder>::MAX_LIMIT,
            RoleOrder::Id,
            gatehouse_domain::Direction::Asc,
        )
        .map_err(|_| "invalid page")?;
        let roles_page = roles.list(master, page).await?;
        let count = i64::try_from(roles_page.items.len())?;
        if let Some(role) = roles_page
            .items
            .into_iter()
            .find(|role| role.name.as_str() == ADMIN_ROLE)
        {
            return Ok(Some(role));
        }
        offset += count;
        if count == 0 || offset >= roles_page.total {
            return Ok(None);
        }
    }
}
