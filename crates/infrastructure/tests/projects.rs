//! `PgProjectRepository` against a real PostgreSQL database.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

mod common;

use std::time::Duration;

use common::*;
use diesel::RunQueryDsl;
use diesel::result::DatabaseErrorKind;
use gatehouse_domain::{
    ApiKeyRepository, Budget, Direction, DomainError, Entity, KeyGenerator, LimitType, Limits,
    MemberOrder, NewProject, OrganizationId, Patch, Project, ProjectFilter, ProjectId,
    ProjectMember, ProjectOrder, ProjectPatch, ProjectRepository, RoleId, UserId, UserPatch,
    UserRepository,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{
    PgApiKeyRepository, PgProjectRepository, PgUserRepository, Sha256KeyGenerator,
};

fn repository(db: &TestDatabase) -> PgProjectRepository {
    PgProjectRepository::new(db.pool(), trail())
}

fn budget(amount: f64) -> Budget {
    Budget::new(amount).unwrap()
}

/// Two organizations and users in each, in none, to make members of.
struct World {
    db: TestDatabase,
    role: RoleId,
    acme: OrganizationId,
    other: OrganizationId,
    ada: UserId,
    bob: UserId,
    /// In `other`.
    cyd: UserId,
    /// In no organization.
    dan: UserId,
}

async fn world() -> World {
    let db = TestDatabase::new();
    let pool = db.pool();
    let role = create_role(&pool, "member").await.id;
    let acme = create_organization(&pool, "Acme").await.id;
    let other = create_organization(&pool, "Other").await.id;
    let ada = create_user(&pool, "ada@example.org", role, Some(acme))
        .await
        .id;
    let bob = create_user(&pool, "bob@example.org", role, Some(acme))
        .await
        .id;
    let cyd = create_user(&pool, "cyd@example.org", role, Some(other))
        .await
        .id;
    let dan = create_user(&pool, "dan@example.org", role, None).await.id;
    World {
        db,
        role,
        acme,
        other,
        ada,
        bob,
        cyd,
        dan,
    }
}

fn full_project(project_name: &str, organization: OrganizationId) -> NewProject {
    NewProject {
        budget: Some(budget(12.5)),
        limits: limits(&[
            limit(1, LimitType::Rpm, Some(60)),
            limit(1, LimitType::Tpd, None),
            limit(2, LimitType::Tpm, Some(0)),
        ]),
        ..new_project(project_name, organization)
    }
}

fn count(db: &TestDatabase, table: &str, project: ProjectId) -> i64 {
    count_rows(&db.pool(), &format!("{table} WHERE project_id = {project}"))
}

/// Makes every write of project limits fail, to see that a project is written whole or not at all.
fn break_limit_writes(db: &TestDatabase) {
    execute(
        &db.pool(),
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused'; END; $$",
    )
    .unwrap();
    execute(
        &db.pool(),
        "CREATE TRIGGER refuse BEFORE INSERT ON project_limits \
         FOR EACH ROW EXECUTE FUNCTION refuse()",
    )
    .unwrap();
}

// --- create, find ---------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_project_stores_its_budget_and_limits_with_no_members() {
    let world = world().await;
    let projects = repository(&world.db);
    let new = full_project("Apollo", world.acme);
    let before = chrono::Utc::now();
    let created = projects.create(new.clone(), test_audit()).await.unwrap();
    assert!(created.id.get() > 0);
    assert_eq!(created.name, new.name);
    assert_eq!(created.organization, world.acme);
    assert_eq!(created.budget, new.budget);
    assert_eq!(created.limits, new.limits);
    assert_eq!(created.members, 0);
    assert_eq!(created.created, created.updated);
    assert!((created.created - before).num_seconds().abs() < 60);
    assert_eq!(
        projects.find_by_id(created.id).await.unwrap().unwrap(),
        created
    );
    assert_eq!(count(&world.db, "project_limits", created.id), 3);
}

#[tokio::test]
async fn creating_a_project_without_budget_or_limits_stores_none() {
    let world = world().await;
    let projects = repository(&world.db);
    let created = projects
        .create(new_project("Apollo", world.acme), test_audit())
        .await
        .unwrap();
    let found = projects.find_by_id(created.id).await.unwrap().unwrap();
    assert_eq!(found.budget, None);
    assert!(found.limits.is_empty());
    assert_eq!(found, created);
}

#[tokio::test]
async fn creating_a_project_in_a_missing_organization_is_organization_not_found() {
    let world = world().await;
    let error = repository(&world.db)
        .create(full_project("Apollo", OrganizationId(4242)), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Organization)));
    assert_eq!(count_rows(&world.db.pool(), "projects"), 0);
    assert_eq!(count_rows(&world.db.pool(), "project_limits"), 0);
}

#[tokio::test]
async fn a_project_name_is_unique_within_its_organization_only() {
    let world = world().await;
    let projects = repository(&world.db);
    projects
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap();
    let error = projects
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::AlreadyExists(Entity::Project)));
    let elsewhere = projects
        .create(full_project("Apollo", world.other), test_audit())
        .await
        .unwrap();
    assert_eq!(elsewhere.organization, world.other);
    assert_eq!(count_rows(&world.db.pool(), "projects"), 2);
    assert_eq!(count_rows(&world.db.pool(), "project_limits"), 6);
}

#[tokio::test]
async fn creating_a_project_is_atomic() {
    let world = world().await;
    break_limit_writes(&world.db);
    let error = repository(&world.db)
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::Unexpected(_)));
    assert_eq!(count_rows(&world.db.pool(), "projects"), 0);
}

#[tokio::test]
async fn finding_a_project_gives_its_limits_and_members_counted() {
    let world = world().await;
    let projects = repository(&world.db);
    let apollo = projects
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap();
    let gemini = projects
        .create(full_project("Gemini", world.acme), test_audit())
        .await
        .unwrap();
    projects
        .add_member(apollo.id, world.ada, test_audit())
        .await
        .unwrap();
    projects
        .add_member(apollo.id, world.bob, test_audit())
        .await
        .unwrap();
    projects
        .add_member(gemini.id, world.ada, test_audit())
        .await
        .unwrap();
    let found = projects.find_by_id(apollo.id).await.unwrap().unwrap();
    assert_eq!(
        found,
        Project {
            members: 2,
            ..apollo
        }
    );
    let found = projects.find_by_id(gemini.id).await.unwrap().unwrap();
    assert_eq!(found.members, 1);
}

#[tokio::test]
async fn finding_a_missing_project_is_none() {
    let world = world().await;
    assert!(
        repository(&world.db)
            .find_by_id(ProjectId(4242))
            .await
            .unwrap()
            .is_none()
    );
}

// --- list -----------------------------------------------------------------------------------

/// Six projects, four in Acme and two in Other, each with limits of its own; four inserted by one
/// statement share `created` (and three `updated`), two share a name in two organizations, and
/// the physical order of the rows differs from the id order. Ada is a member of the first two,
/// Bob of the first.
async fn six_projects(world: &World) -> Vec<Project> {
    let pool = world.db.pool();
    execute(
        &pool,
        &format!(
            "INSERT INTO projects (name, organization_id, budget_micros) VALUES \
             ('delta', {acme}, 1000000), ('same', {acme}, NULL), ('same', {other}, 2000000), \
             ('bravo', {acme}, 3000000)",
            acme = world.acme,
            other = world.other,
        ),
    )
    .unwrap();
    execute(
        &pool,
        "INSERT INTO project_limits (project_id, router_id, type, value) \
         SELECT id, id, 'rpm', id FROM projects",
    )
    .unwrap();
    scramble(&pool, "projects", "id = (SELECT min(id) FROM projects)");
    let projects = repository(&world.db);
    projects
        .create(full_project("alpha", world.other), test_audit())
        .await
        .unwrap();
    projects
        .create(full_project("charlie", world.acme), test_audit())
        .await
        .unwrap();
    let all = projects
        .list(
            ProjectFilter::default(),
            page(0, 100, ProjectOrder::Id, Direction::Asc),
        )
        .await
        .unwrap()
        .items;
    projects
        .add_member(all[0].id, world.ada, test_audit())
        .await
        .unwrap();
    projects
        .add_member(all[0].id, world.bob, test_audit())
        .await
        .unwrap();
    projects
        .add_member(all[1].id, world.ada, test_audit())
        .await
        .unwrap();
    projects
        .list(
            ProjectFilter::default(),
            page(0, 100, ProjectOrder::Id, Direction::Asc),
        )
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn listing_projects_gives_the_requested_page_the_total_and_each_its_own_limits_and_members() {
    let world = world().await;
    let all = six_projects(&world).await;
    assert_eq!(all.len(), 6);
    let members: Vec<_> = all.iter().map(|p| p.members).collect();
    assert_eq!(members, [2, 1, 0, 0, 0, 0]);
    for project in &all[..4] {
        assert_eq!(
            project.limits,
            limits(&[limit(
                project.id.get(),
                LimitType::Rpm,
                Some(project.id.get())
            )])
        );
    }
    assert_eq!(all[4].limits, full_project("x", world.acme).limits);
    let projects = repository(&world.db);
    for project in &all {
        assert_eq!(
            &projects.find_by_id(project.id).await.unwrap().unwrap(),
            project
        );
    }
    let middle = projects
        .list(
            ProjectFilter::default(),
            page(2, 3, ProjectOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(middle.total, 6);
    assert_eq!(middle.items, all[2..5]);
    let past_the_end = projects
        .list(
            ProjectFilter::default(),
            page(6, 3, ProjectOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(past_the_end.total, 6);
    assert!(past_the_end.items.is_empty());
}

#[tokio::test]
async fn listing_projects_filters_by_organization_and_counts_only_theirs() {
    let world = world().await;
    let all = six_projects(&world).await;
    let projects = repository(&world.db);
    for (organization, expected) in [(world.acme, 4), (world.other, 2), (OrganizationId(4242), 0)] {
        let listed = projects
            .list(
                ProjectFilter {
                    organization: Some(organization),
                    ..ProjectFilter::default()
                },
                page(0, 100, ProjectOrder::Id, Direction::Asc),
            )
            .await
            .unwrap();
        assert_eq!(listed.total, expected);
        let theirs: Vec<_> = all
            .iter()
            .filter(|p| p.organization == organization)
            .cloned()
            .collect();
        assert_eq!(listed.items, theirs);
    }
    let first = projects
        .list(
            ProjectFilter {
                organization: Some(world.acme),
                ..ProjectFilter::default()
            },
            page(0, 1, ProjectOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(first.total, 4);
    assert_eq!(first.items, all[..1]);
}

#[tokio::test]
async fn listing_projects_filters_by_member() {
    let world = world().await;
    let all = six_projects(&world).await;
    let projects = repository(&world.db);
    for (member, expected) in [
        (world.ada, vec![all[0].clone(), all[1].clone()]),
        (world.bob, vec![all[0].clone()]),
        (UserId(4242), vec![]),
    ] {
        let listed = projects
            .list(
                ProjectFilter {
                    member: Some(member),
                    ..ProjectFilter::default()
                },
                page(0, 100, ProjectOrder::Id, Direction::Asc),
            )
            .await
            .unwrap();
        assert_eq!(listed.total, i64::try_from(expected.len()).unwrap());
        assert_eq!(listed.items, expected);
    }
    let both = projects
        .list(
            ProjectFilter {
                organization: Some(world.other),
                member: Some(world.ada),
            },
            page(0, 100, ProjectOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    let expected: Vec<_> = all[..2]
        .iter()
        .filter(|p| p.organization == world.other)
        .cloned()
        .collect();
    assert_eq!(both.items, expected);
}

#[tokio::test]
async fn listing_projects_orders_by_each_field_in_both_directions_then_by_id() {
    let world = world().await;
    six_projects(&world).await;
    let projects = repository(&world.db);
    for &order in ProjectOrder::ALL {
        for direction in [Direction::Asc, Direction::Desc] {
            let listed = projects
                .list(ProjectFilter::default(), page(0, 100, order, direction))
                .await
                .unwrap();
            assert_eq!(listed.items.len(), 6);
            let id = |p: &Project| p.id.get();
            match order {
                ProjectOrder::Id => {
                    let keys: Vec<_> = listed.items.iter().map(|p| ((), id(p))).collect();
                    assert_sorted(&keys, direction);
                }
                ProjectOrder::Name => {
                    let keys: Vec<_> = listed
                        .items
                        .iter()
                        .map(|p| (p.name.to_string(), id(p)))
                        .collect();
                    assert_has_ties(&keys);
                    assert_sorted(&keys, direction);
                }
                ProjectOrder::Created => {
                    let keys: Vec<_> = listed.items.iter().map(|p| (p.created, id(p))).collect();
                    assert_has_ties(&keys);
                    assert_sorted(&keys, direction);
                }
                ProjectOrder::Updated => {
                    let keys: Vec<_> = listed.items.iter().map(|p| (p.updated, id(p))).collect();
                    assert_has_ties(&keys);
                    assert_sorted(&keys, direction);
                }
            }
            let mut paged = Vec::new();
            for offset in [0, 4] {
                let part = projects
                    .list(ProjectFilter::default(), page(offset, 4, order, direction))
                    .await
                    .unwrap();
                paged.extend(part.items);
            }
            assert_eq!(paged, listed.items, "{order} {direction}");
        }
    }
}

// --- update ---------------------------------------------------------------------------------

#[tokio::test]
async fn updating_a_project_renames_it_sets_its_budget_replaces_its_limits_and_bumps_updated() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = projects
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap();
    backdate(&world.db.pool(), "projects", project.id.get());
    let project = projects.find_by_id(project.id).await.unwrap().unwrap();
    let patch = ProjectPatch {
        name: Some(name("Artemis")),
        budget: Patch::Set(budget(0.0)),
        limits: Some(limits(&[limit(5, LimitType::Rpd, Some(1000))])),
    };
    let updated = projects
        .update(project.id, patch.clone(), test_audit())
        .await
        .unwrap();
    assert_eq!(
        updated,
        Project {
            name: name("Artemis"),
            budget: Some(budget(0.0)),
            limits: patch.limits.unwrap(),
            updated: updated.updated,
            ..project.clone()
        }
    );
    assert!(updated.updated > project.updated);
    assert_eq!(
        projects.find_by_id(project.id).await.unwrap().unwrap(),
        updated
    );
    assert_eq!(count(&world.db, "project_limits", project.id), 1);
}

#[tokio::test]
async fn a_project_merge_patch_keeps_an_absent_budget_and_clears_a_null_one() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = projects
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap();
    let renamed = projects
        .update(
            project.id,
            ProjectPatch {
                name: Some(name("Artemis")),
                ..ProjectPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(renamed.budget, project.budget);
    assert_eq!(renamed.limits, project.limits);
    let cleared = projects
        .update(
            project.id,
            ProjectPatch {
                budget: Patch::Clear,
                ..ProjectPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(
        cleared,
        Project {
            budget: None,
            updated: cleared.updated,
            ..renamed
        }
    );
}

#[tokio::test]
async fn updating_only_the_limits_of_a_project_keeps_the_rest_and_bumps_updated() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = projects
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap();
    backdate(&world.db.pool(), "projects", project.id.get());
    let project = projects.find_by_id(project.id).await.unwrap().unwrap();
    let updated = projects
        .update(
            project.id,
            ProjectPatch {
                limits: Some(Limits::default()),
                ..ProjectPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(
        updated,
        Project {
            limits: Limits::default(),
            updated: updated.updated,
            ..project.clone()
        }
    );
    assert!(updated.updated > project.updated);
    assert_eq!(count(&world.db, "project_limits", project.id), 0);
}

#[tokio::test]
async fn updating_a_project_returns_its_members_counted() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = projects
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap();
    projects
        .add_member(project.id, world.ada, test_audit())
        .await
        .unwrap();
    let updated = projects
        .update(
            project.id,
            ProjectPatch {
                name: Some(name("Artemis")),
                ..ProjectPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(updated.members, 1);
}

#[tokio::test]
async fn an_empty_project_patch_changes_nothing_not_even_updated() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = projects
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap();
    let unchanged = projects
        .update(project.id, ProjectPatch::default(), test_audit())
        .await
        .unwrap();
    assert_eq!(unchanged, project);
    assert_eq!(
        projects.find_by_id(project.id).await.unwrap().unwrap(),
        project
    );
}

#[tokio::test]
async fn renaming_a_project_to_a_name_taken_in_its_organization_is_already_exists() {
    let world = world().await;
    let projects = repository(&world.db);
    projects
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap();
    projects
        .create(full_project("Gemini", world.other), test_audit())
        .await
        .unwrap();
    let project = projects
        .create(full_project("Mercury", world.acme), test_audit())
        .await
        .unwrap();
    let error = projects
        .update(
            project.id,
            ProjectPatch {
                name: Some(name("Apollo")),
                limits: Some(Limits::default()),
                ..ProjectPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::AlreadyExists(Entity::Project)));
    assert_eq!(
        projects.find_by_id(project.id).await.unwrap().unwrap(),
        project
    );
    // A name taken in another organization only is free here.
    let renamed = projects
        .update(
            project.id,
            ProjectPatch {
                name: Some(name("Gemini")),
                ..ProjectPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, name("Gemini"));
}

#[tokio::test]
async fn updating_a_missing_project_is_not_found_whatever_the_patch() {
    let world = world().await;
    let projects = repository(&world.db);
    let patches = [
        ProjectPatch::default(),
        ProjectPatch {
            name: Some(name("x")),
            ..ProjectPatch::default()
        },
        ProjectPatch {
            budget: Patch::Clear,
            ..ProjectPatch::default()
        },
        ProjectPatch {
            limits: Some(Limits::default()),
            ..ProjectPatch::default()
        },
    ];
    for patch in patches {
        let error = projects
            .update(ProjectId(4242), patch, test_audit())
            .await
            .unwrap_err();
        assert!(matches!(error, DomainError::NotFound(Entity::Project)));
    }
}

#[tokio::test]
async fn updating_a_project_is_atomic() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = projects
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap();
    break_limit_writes(&world.db);
    let error = projects
        .update(
            project.id,
            ProjectPatch {
                name: Some(name("Artemis")),
                budget: Patch::Clear,
                limits: Some(limits(&[limit(3, LimitType::Rpd, Some(1))])),
            },
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::Unexpected(_)));
    assert_eq!(
        projects.find_by_id(project.id).await.unwrap().unwrap(),
        project
    );
}

// --- delete ---------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_a_project_removes_its_limits_memberships_and_bound_keys() {
    let world = world().await;
    let projects = repository(&world.db);
    let keys = PgApiKeyRepository::new(world.db.pool(), trail());
    let apollo = projects
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap();
    let gemini = projects
        .create(full_project("Gemini", world.acme), test_audit())
        .await
        .unwrap();
    for project in [apollo.id, gemini.id] {
        projects
            .add_member(project, world.ada, test_audit())
            .await
            .unwrap();
    }
    let (bound, bound_secret) = new_key_in("apollo", world.ada, Some(apollo.id));
    let bound = keys.create(bound, test_audit()).await.unwrap();
    let (elsewhere, elsewhere_secret) = new_key_in("gemini", world.ada, Some(gemini.id));
    let elsewhere = keys.create(elsewhere, test_audit()).await.unwrap();
    let (unbound, unbound_secret) = new_key_in("own", world.ada, None);
    let unbound = keys.create(unbound, test_audit()).await.unwrap();

    projects.delete(apollo.id, test_audit()).await.unwrap();

    assert!(projects.find_by_id(apollo.id).await.unwrap().is_none());
    assert_eq!(count(&world.db, "project_limits", apollo.id), 0);
    assert_eq!(count(&world.db, "project_members", apollo.id), 0);
    assert!(keys.find_by_id(bound.id).await.unwrap().is_none());
    let grant = |secret: String| {
        let keys = keys.clone();
        async move {
            keys.find_grant_by_hash(Sha256KeyGenerator.hash(&secret))
                .await
                .unwrap()
        }
    };
    assert!(grant(bound_secret).await.is_none());
    // The other project, its member and keys, and the owner's own key stay.
    assert_eq!(
        projects
            .find_by_id(gemini.id)
            .await
            .unwrap()
            .unwrap()
            .members,
        1
    );
    assert_eq!(
        keys.find_by_id(elsewhere.id).await.unwrap().unwrap(),
        elsewhere
    );
    assert_eq!(keys.find_by_id(unbound.id).await.unwrap().unwrap(), unbound);
    assert!(grant(elsewhere_secret).await.is_some());
    assert!(grant(unbound_secret).await.is_some());
}

#[tokio::test]
async fn deleting_a_missing_project_is_not_found() {
    let world = world().await;
    let error = repository(&world.db)
        .delete(ProjectId(4242), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Project)));
}

// --- members --------------------------------------------------------------------------------

#[tokio::test]
async fn adding_a_member_returns_the_membership_and_counts_it() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = create_project(&world.db.pool(), "Apollo", world.acme).await;
    let before = chrono::Utc::now();
    let member = projects
        .add_member(project.id, world.ada, test_audit())
        .await
        .unwrap();
    assert_eq!((member.project, member.user), (project.id, world.ada));
    assert!((member.created - before).num_seconds().abs() < 60);
    assert_eq!(
        projects.find_member(project.id, world.ada).await.unwrap(),
        Some(member)
    );
    assert_eq!(
        projects
            .find_by_id(project.id)
            .await
            .unwrap()
            .unwrap()
            .members,
        1
    );
}

#[tokio::test]
async fn adding_a_member_twice_keeps_one_membership_and_the_date_they_joined() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = create_project(&world.db.pool(), "Apollo", world.acme).await;
    let first = projects
        .add_member(project.id, world.ada, test_audit())
        .await
        .unwrap();
    let again = projects
        .add_member(project.id, world.ada, test_audit())
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(count(&world.db, "project_members", project.id), 1);
    assert_eq!(
        projects
            .find_by_id(project.id)
            .await
            .unwrap()
            .unwrap()
            .members,
        1
    );
}

#[tokio::test]
async fn adding_a_member_to_a_missing_project_or_a_missing_user_is_not_found() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = create_project(&world.db.pool(), "Apollo", world.acme).await;
    let error = projects
        .add_member(ProjectId(4242), world.ada, test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Project)));
    let error = projects
        .add_member(project.id, UserId(4242), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::User)));
    let error = projects
        .add_member(ProjectId(4242), UserId(4242), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(_)));
    assert_eq!(count_rows(&world.db.pool(), "project_members"), 0);
}

#[tokio::test]
async fn a_user_of_another_organization_or_of_none_is_not_in_the_projects_organization() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = create_project(&world.db.pool(), "Apollo", world.acme).await;
    for user in [world.cyd, world.dan] {
        let error = projects
            .add_member(project.id, user, test_audit())
            .await
            .unwrap_err();
        assert!(
            matches!(error, DomainError::NotInOrganization),
            "{user}: {error:?}"
        );
    }
    assert_eq!(count_rows(&world.db.pool(), "project_members"), 0);
}

#[tokio::test]
async fn finding_a_membership_that_does_not_exist_is_none() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = create_project(&world.db.pool(), "Apollo", world.acme).await;
    projects
        .add_member(project.id, world.ada, test_audit())
        .await
        .unwrap();
    for (project, user) in [
        (project.id, world.bob),
        (project.id, UserId(4242)),
        (ProjectId(4242), world.ada),
    ] {
        assert!(projects.find_member(project, user).await.unwrap().is_none());
    }
}

/// A project with five members: three added by one statement share `created`, and the physical
/// order of the rows differs from the user order.
async fn five_members(world: &World) -> (ProjectId, Vec<ProjectMember>) {
    let pool = world.db.pool();
    let project = create_project(&pool, "Apollo", world.acme).await.id;
    let other = create_project(&pool, "Gemini", world.acme).await.id;
    let mut users = Vec::new();
    for address in ["u1", "u2", "u3", "u4", "u5"] {
        let user = create_user(
            &pool,
            &format!("{address}@example.org"),
            world.role,
            Some(world.acme),
        )
        .await;
        users.push(user.id);
    }
    execute(
        &pool,
        &format!(
            "INSERT INTO project_members (project_id, user_id) VALUES ({project}, {}), \
             ({project}, {}), ({project}, {})",
            users[3], users[0], users[2]
        ),
    )
    .unwrap();
    execute(
        &pool,
        &format!(
            "UPDATE project_members SET created = created WHERE user_id = {}",
            users[0]
        ),
    )
    .unwrap();
    let projects = repository(&world.db);
    projects
        .add_member(project, users[4], test_audit())
        .await
        .unwrap();
    projects
        .add_member(project, users[1], test_audit())
        .await
        .unwrap();
    projects
        .add_member(other, users[0], test_audit())
        .await
        .unwrap();
    let all = projects
        .list_members(project, page(0, 100, MemberOrder::User, Direction::Asc))
        .await
        .unwrap();
    assert_eq!(all.total, 5);
    (project, all.items)
}

#[tokio::test]
async fn listing_members_gives_the_requested_page_and_the_total() {
    let world = world().await;
    let (project, all) = five_members(&world).await;
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|m| m.project == project));
    let projects = repository(&world.db);
    let middle = projects
        .list_members(project, page(1, 2, MemberOrder::User, Direction::Asc))
        .await
        .unwrap();
    assert_eq!(middle.total, 5);
    assert_eq!(middle.items, all[1..3]);
    let past_the_end = projects
        .list_members(project, page(5, 2, MemberOrder::User, Direction::Asc))
        .await
        .unwrap();
    assert_eq!(past_the_end.total, 5);
    assert!(past_the_end.items.is_empty());
}

#[tokio::test]
async fn listing_the_members_of_an_unknown_project_is_an_empty_page() {
    let world = world().await;
    five_members(&world).await;
    let listed = repository(&world.db)
        .list_members(
            ProjectId(4242),
            page(0, 10, MemberOrder::User, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(listed.total, 0);
    assert!(listed.items.is_empty());
}

#[tokio::test]
async fn listing_members_orders_by_each_field_in_both_directions_then_by_user() {
    let world = world().await;
    let (project, _) = five_members(&world).await;
    let projects = repository(&world.db);
    for &order in MemberOrder::ALL {
        for direction in [Direction::Asc, Direction::Desc] {
            let listed = projects
                .list_members(project, page(0, 100, order, direction))
                .await
                .unwrap();
            assert_eq!(listed.items.len(), 5);
            match order {
                MemberOrder::User => {
                    let keys: Vec<_> = listed.items.iter().map(|m| ((), m.user.get())).collect();
                    assert_sorted(&keys, direction);
                }
                MemberOrder::Created => {
                    let keys: Vec<_> = listed
                        .items
                        .iter()
                        .map(|m| (m.created, m.user.get()))
                        .collect();
                    assert_has_ties(&keys);
                    assert_sorted(&keys, direction);
                }
            }
            let mut paged = Vec::new();
            for offset in [0, 3] {
                let part = projects
                    .list_members(project, page(offset, 3, order, direction))
                    .await
                    .unwrap();
                paged.extend(part.items);
            }
            assert_eq!(paged, listed.items, "{order} {direction}");
        }
    }
}

#[tokio::test]
async fn removing_a_member_ends_the_membership_and_only_their_keys_bound_to_the_project() {
    let world = world().await;
    let projects = repository(&world.db);
    let keys = PgApiKeyRepository::new(world.db.pool(), trail());
    let pool = world.db.pool();
    let apollo = create_project(&pool, "Apollo", world.acme).await.id;
    let gemini = create_project(&pool, "Gemini", world.acme).await.id;
    for (project, user) in [
        (apollo, world.ada),
        (apollo, world.bob),
        (gemini, world.ada),
    ] {
        projects
            .add_member(project, user, test_audit())
            .await
            .unwrap();
    }
    let mut created = Vec::new();
    for (user, project) in [
        (world.ada, Some(apollo)),
        (world.ada, Some(apollo)),
        (world.ada, Some(gemini)),
        (world.ada, None),
        (world.bob, Some(apollo)),
    ] {
        created.push(
            keys.create(new_key_in("k", user, project).0, test_audit())
                .await
                .unwrap(),
        );
    }

    projects
        .remove_member(apollo, world.ada, test_audit())
        .await
        .unwrap();

    assert!(
        projects
            .find_member(apollo, world.ada)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        projects
            .find_member(gemini, world.ada)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        projects
            .find_member(apollo, world.bob)
            .await
            .unwrap()
            .is_some()
    );
    let left: Vec<bool> = {
        let mut left = Vec::new();
        for key in &created {
            left.push(keys.find_by_id(key.id).await.unwrap().is_some());
        }
        left
    };
    assert_eq!(left, [false, false, true, true, true]);
    assert_eq!(
        projects.find_by_id(apollo).await.unwrap().unwrap().members,
        1
    );
}

#[tokio::test]
async fn removing_a_user_who_is_not_a_member_is_member_not_found() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = create_project(&world.db.pool(), "Apollo", world.acme).await;
    projects
        .add_member(project.id, world.ada, test_audit())
        .await
        .unwrap();
    for (project, user) in [
        (project.id, world.bob),
        (project.id, UserId(4242)),
        (ProjectId(4242), world.ada),
    ] {
        let error = projects
            .remove_member(project, user, test_audit())
            .await
            .unwrap_err();
        assert!(matches!(error, DomainError::NotFound(Entity::Member)));
    }
    projects
        .remove_member(project.id, world.ada, test_audit())
        .await
        .unwrap();
    let error = projects
        .remove_member(project.id, world.ada, test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Member)));
}

#[tokio::test]
async fn deleting_a_user_ends_their_memberships() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = create_project(&world.db.pool(), "Apollo", world.acme).await;
    projects
        .add_member(project.id, world.ada, test_audit())
        .await
        .unwrap();
    projects
        .add_member(project.id, world.bob, test_audit())
        .await
        .unwrap();
    PgUserRepository::new(world.db.pool(), trail())
        .delete(world.ada, test_audit())
        .await
        .unwrap();
    assert_eq!(
        projects
            .find_by_id(project.id)
            .await
            .unwrap()
            .unwrap()
            .members,
        1
    );
    assert!(
        projects
            .find_member(project.id, world.ada)
            .await
            .unwrap()
            .is_none()
    );
}

// --- a member always belongs to the project's organization ----------------------------------

/// Holds an open transaction on its own connection, as another process would.
struct OpenTransaction(
    diesel::r2d2::PooledConnection<diesel::r2d2::ConnectionManager<diesel::PgConnection>>,
);

impl OpenTransaction {
    fn begin(db: &TestDatabase, statements: &[String]) -> Self {
        let mut conn = db.pool().get().unwrap();
        diesel::sql_query("BEGIN").execute(&mut conn).unwrap();
        for statement in statements {
            diesel::sql_query(statement).execute(&mut conn).unwrap();
        }
        Self(conn)
    }

    fn commit(mut self) {
        diesel::sql_query("COMMIT").execute(&mut self.0).unwrap();
    }
}

/// Lets a spawned call run until it waits for a lock (seen by the server: the open transaction
/// is idle, so the one waiter in `db` is the call), and checks that it did not finish instead.
async fn assert_waits<T>(db: &TestDatabase, task: &tokio::task::JoinHandle<T>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let pool = db.pool();
        let waiting = tokio::task::spawn_blocking(move || {
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "EXISTS (SELECT 1 FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock')",
            ))
            .get_result::<bool>(&mut pool.get().unwrap())
            .unwrap()
        })
        .await
        .unwrap();
        assert!(!task.is_finished(), "the call did not wait for the lock");
        if waiting {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call never waited for the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn adding_a_member_waits_for_a_move_of_the_user_and_sees_the_new_organization() {
    let world = world().await;
    let project = create_project(&world.db.pool(), "Apollo", world.acme).await;
    // A move of Ada to Other, not committed yet.
    let moving = OpenTransaction::begin(
        &world.db,
        &[format!(
            "UPDATE users SET organization_id = {} WHERE id = {}",
            world.other, world.ada
        )],
    );
    let projects = repository(&world.db);
    let adding = tokio::spawn({
        let projects = projects.clone();
        let ada = world.ada;
        async move { projects.add_member(project.id, ada, test_audit()).await }
    });
    assert_waits(&world.db, &adding).await;
    moving.commit();
    let error = adding.await.unwrap().unwrap_err();
    assert!(matches!(error, DomainError::NotInOrganization), "{error:?}");
    assert_eq!(count_rows(&world.db.pool(), "project_members"), 0);
}

#[tokio::test]
async fn a_move_waits_for_a_membership_being_added_and_then_ends_it() {
    let world = world().await;
    let project = create_project(&world.db.pool(), "Apollo", world.acme).await;
    // What add_member does, up to its commit.
    let adding = OpenTransaction::begin(
        &world.db,
        &[
            format!("SELECT 1 FROM users WHERE id = {} FOR SHARE", world.ada),
            format!(
                "INSERT INTO project_members (project_id, user_id) VALUES ({}, {})",
                project.id, world.ada
            ),
        ],
    );
    let users = PgUserRepository::new(world.db.pool(), trail());
    let moving = tokio::spawn({
        let users = users.clone();
        let (ada, other) = (world.ada, world.other);
        async move {
            users
                .update(
                    ada,
                    UserPatch {
                        organization: Patch::Set(other),
                        ..UserPatch::default()
                    },
                    test_audit(),
                )
                .await
        }
    });
    assert_waits(&world.db, &moving).await;
    adding.commit();
    let moved = moving.await.unwrap().unwrap();
    assert_eq!(moved.organization, Some(world.other));
    assert!(
        repository(&world.db)
            .find_member(project.id, world.ada)
            .await
            .unwrap()
            .is_none()
    );
}

// --- what the database refuses --------------------------------------------------------------

fn insert_project(organization: OrganizationId, column: &str, value: &str) -> String {
    format!(
        "INSERT INTO projects (name, organization_id, {column}) VALUES ('p', {organization}, {value})"
    )
}

#[tokio::test]
async fn the_database_refuses_negative_project_budgets() {
    let world = world().await;
    let pool = world.db.pool();
    assert_refused(
        &pool,
        &insert_project(world.acme, "budget_micros", "-1"),
        DatabaseErrorKind::CheckViolation,
        "projects_budget_micros_check",
    );
    execute(&pool, &insert_project(world.acme, "budget_micros", "0")).unwrap();
}

#[tokio::test]
async fn the_database_refuses_project_names_outside_1_to_255_characters() {
    let world = world().await;
    let pool = world.db.pool();
    for bad in ["''", "repeat('é', 256)"] {
        assert_refused(
            &pool,
            &format!(
                "INSERT INTO projects (name, organization_id) VALUES ({bad}, {})",
                world.acme
            ),
            DatabaseErrorKind::CheckViolation,
            "projects_name_length",
        );
    }
    execute(
        &pool,
        &format!(
            "INSERT INTO projects (name, organization_id) VALUES (repeat('é', 255), {})",
            world.acme
        ),
    )
    .unwrap();
}

#[tokio::test]
async fn the_database_refuses_projects_of_missing_organizations() {
    let world = world().await;
    let pool = world.db.pool();
    assert_refused(
        &pool,
        "INSERT INTO projects (name, organization_id) VALUES ('p', 4242)",
        DatabaseErrorKind::ForeignKeyViolation,
        "projects_organization_id_fkey",
    );
}

#[tokio::test]
async fn the_database_refuses_two_projects_of_one_name_in_one_organization() {
    let world = world().await;
    let pool = world.db.pool();
    assert_refused(
        &pool,
        &format!(
            "INSERT INTO projects (name, organization_id) VALUES ('p', {0}), ('p', {0})",
            world.acme
        ),
        DatabaseErrorKind::UniqueViolation,
        "projects_organization_id_name_key",
    );
    execute(
        &pool,
        &format!(
            "INSERT INTO projects (name, organization_id) VALUES ('p', {}), ('p', {})",
            world.acme, world.other
        ),
    )
    .unwrap();
}

#[tokio::test]
async fn the_database_refuses_invalid_project_limits() {
    let world = world().await;
    let pool = world.db.pool();
    let project = create_project(&pool, "Apollo", world.acme).await.id;
    let insert = |router: &str, kind: &str, value: &str| {
        format!(
            "INSERT INTO project_limits (project_id, router_id, type, value) \
             VALUES ({project}, {router}, {kind}, {value})"
        )
    };
    assert_refused(
        &pool,
        &insert("0", "'rpm'", "1"),
        DatabaseErrorKind::CheckViolation,
        "project_limits_router_id_check",
    );
    assert_refused(
        &pool,
        &insert("1", "'rps'", "1"),
        DatabaseErrorKind::CheckViolation,
        "project_limits_type_check",
    );
    assert_refused(
        &pool,
        &insert("1", "'rpm'", "-1"),
        DatabaseErrorKind::CheckViolation,
        "project_limits_value_check",
    );
    execute(&pool, &insert("1", "'rpm'", "NULL")).unwrap();
    assert_refused(
        &pool,
        &insert("1", "'rpm'", "5"),
        DatabaseErrorKind::UniqueViolation,
        "project_limits_pkey",
    );
    for kind in LimitType::ALL {
        execute(&pool, &insert("2", &format!("'{kind}'"), "0")).unwrap();
    }
    assert_refused(
        &pool,
        "INSERT INTO project_limits (project_id, router_id, type, value) VALUES (4242, 1, 'rpm', 1)",
        DatabaseErrorKind::ForeignKeyViolation,
        "project_limits_project_id_fkey",
    );
}

#[tokio::test]
async fn the_database_refuses_memberships_of_missing_projects_or_users_and_twice_the_same() {
    let world = world().await;
    let pool = world.db.pool();
    let project = create_project(&pool, "Apollo", world.acme).await.id;
    assert_refused(
        &pool,
        &format!(
            "INSERT INTO project_members (project_id, user_id) VALUES (4242, {})",
            world.ada
        ),
        DatabaseErrorKind::ForeignKeyViolation,
        "project_members_project_id_fkey",
    );
    assert_refused(
        &pool,
        &format!("INSERT INTO project_members (project_id, user_id) VALUES ({project}, 4242)"),
        DatabaseErrorKind::ForeignKeyViolation,
        "project_members_user_id_fkey",
    );
    assert_refused(
        &pool,
        &format!(
            "INSERT INTO project_members (project_id, user_id) VALUES ({project}, {0}), ({project}, {0})",
            world.ada
        ),
        DatabaseErrorKind::UniqueViolation,
        "project_members_pkey",
    );
}

#[tokio::test]
async fn the_database_deletes_the_limits_memberships_and_bound_keys_of_a_deleted_project() {
    let world = world().await;
    let pool = world.db.pool();
    let project = repository(&world.db)
        .create(full_project("Apollo", world.acme), test_audit())
        .await
        .unwrap()
        .id;
    add_member(&pool, project, world.ada).await;
    PgApiKeyRepository::new(pool.clone(), trail())
        .create(new_key_in("k", world.ada, Some(project)).0, test_audit())
        .await
        .unwrap();
    execute(&pool, &format!("DELETE FROM projects WHERE id = {project}")).unwrap();
    assert_eq!(count(&world.db, "project_limits", project), 0);
    assert_eq!(count(&world.db, "project_members", project), 0);
    assert_eq!(count_rows(&pool, "api_keys"), 0);
}

#[tokio::test]
async fn the_database_sets_updated_on_every_write_of_a_project() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = create_project(&world.db.pool(), "Apollo", world.acme).await;
    backdate(&world.db.pool(), "projects", project.id.get());
    let project = projects.find_by_id(project.id).await.unwrap().unwrap();
    execute(
        &world.db.pool(),
        &format!(
            "UPDATE projects SET updated = '2000-01-01T00:00:00Z' WHERE id = {}",
            project.id
        ),
    )
    .unwrap();
    let after = projects.find_by_id(project.id).await.unwrap().unwrap();
    assert!(after.updated > project.updated);
    assert_eq!(after.created, project.created);
}

#[tokio::test]
async fn a_stored_project_value_the_domain_refuses_is_unexpected_not_a_panic() {
    let world = world().await;
    let projects = repository(&world.db);
    let project = create_project(&world.db.pool(), "Apollo", world.acme).await;
    execute(
        &world.db.pool(),
        &format!(
            "INSERT INTO project_limits (project_id, router_id, type, value) \
             VALUES ({}, 1, 'rpm', 1)",
            project.id
        ),
    )
    .unwrap();
    execute(
        &world.db.pool(),
        "ALTER TABLE project_limits DROP CONSTRAINT project_limits_type_check",
    )
    .unwrap();
    execute(&world.db.pool(), "UPDATE project_limits SET type = 'rps'").unwrap();
    let error = projects.find_by_id(project.id).await.unwrap_err();
    assert!(matches!(error, DomainError::Unexpected(_)));
}
