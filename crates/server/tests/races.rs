//! Scenario 3 of "Reliability and security, proven": requests that race each other over HTTP get
//! the answers the contract gives one at a time (201, 204, 404, 409...), never a 5xx, and leave a
//! consistent database behind.
//!
//! Every request of a race is sent by a task of its own, all released at once by a barrier.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{DEFAULT_CONNECTION_TIMEOUT, connect};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use support::{Answer, MASTER_KEY, TestApp};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

const PASSWORD: &str = "correct horse battery";

/// A request of a race, as the master key unless `key` says otherwise.
fn request(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> RequestBuilder {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(MASTER_KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request
}

/// Sends every request at once and returns the answers in the order of `requests`.
async fn race(requests: Vec<RequestBuilder>) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let mut tasks = JoinSet::new();
    for (index, request) in requests.into_iter().enumerate() {
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            barrier.wait().await;
            let response = request.send().await.expect("the server answers");
            let status = response.status();
            let headers = response.headers().clone();
            let text = response.text().await.expect("a body");
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            (
                index,
                Answer {
                    status,
                    headers,
                    body,
                    text,
                },
            )
        });
    }
    let mut answers: Vec<Option<Answer>> =
        std::iter::repeat_with(|| None).take(tasks.len()).collect();
    while let Some(joined) = tasks.join_next().await {
        let (index, answer) = joined.expect("the request task ends");
        answers[index] = Some(answer);
    }
    answers.into_iter().map(Option::unwrap).collect()
}

/// How many answers have each status.
fn tally(answers: &[Answer]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for answer in answers {
        *counts.entry(answer.status.as_u16()).or_default() += 1;
    }
    counts
}

/// Asserts that no answer is a 5xx, showing every one that is.
#[track_caller]
fn assert_no_server_error(answers: &[Answer]) {
    let failed: Vec<String> = answers
        .iter()
        .enumerate()
        .filter(|(_, answer)| answer.status.is_server_error())
        .map(|(index, answer)| format!("#{index}: {} {}", answer.status, answer.text))
        .collect();
    assert!(
        failed.is_empty(),
        "server errors ({:?}):\n{}",
        tally(answers),
        failed.join("\n")
    );
}

/// Asserts that exactly one answer is 201 and every other one 409 with `detail`; returns the
/// created object.
#[track_caller]
fn assert_one_created(answers: &[Answer], detail: &str) -> Value {
    assert_no_server_error(answers);
    let created: Vec<&Answer> = answers
        .iter()
        .filter(|answer| answer.status == StatusCode::CREATED)
        .collect();
    assert_eq!(created.len(), 1, "{:?}", tally(answers));
    for answer in answers {
        if answer.status != StatusCode::CREATED {
            answer.assert_detail(409, detail);
        }
    }
    created[0].body.clone()
}

/// The `total` of a list, which must answer 200.
async fn total(app: &TestApp, path: &str) -> i64 {
    let answer = app.get(path).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["total"].as_i64().expect("a total")
}

/// `email` with the letters of the part before `@`, or of the domain, in upper case, by `variant`.
fn in_some_case(email: &str, variant: usize) -> String {
    let (local, domain) = email.split_once('@').expect("an address");
    match variant % 4 {
        0 => email.to_owned(),
        1 => email.to_uppercase(),
        2 => format!("{}@{domain}", local.to_uppercase()),
        _ => format!("{local}@{}", domain.to_uppercase()),
    }
}

// ---------------------------------------------------------------------------------------------
// Creations with one name

#[tokio::test]
async fn fifty_concurrent_creations_of_one_email_in_any_letter_case_make_exactly_one_user() {
    let app = TestApp::spawn().await;
    let role = app.create_role("members", &[]).await;
    let answers = race(
        (0..50)
            .map(|i| {
                let body = json!({
                    "email": in_some_case("ada@example.com", i),
                    "password": PASSWORD,
                    "role": role,
                });
                request(&app, Method::POST, "/v1/admin/users", Some(body))
            })
            .collect(),
    )
    .await;

    let user = assert_one_created(&answers, "User already exists.");
    assert_eq!(total(&app, "/v1/admin/users").await, 1);
    assert_eq!(
        total(&app, "/v1/admin/users?email=ADA@EXAMPLE.COM").await,
        1
    );
    let role = app.get(&format!("/v1/admin/roles/{role}")).await;
    assert_eq!(role.body["users"], 1, "{}", role.text);
    // The one user is whole: their password works.
    let login = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    assert!(login.body["id"].is_i64(), "{}", login.text);
    let info = app
        .call(Method::GET, "/v1/me/info", login.body["key"].as_str(), None)
        .await;
    assert_eq!(info.body["id"], user["id"], "{}", info.text);
}

#[tokio::test]
async fn fifty_concurrent_creations_of_one_organization_name_make_exactly_one() {
    let app = TestApp::spawn().await;
    let answers = race(
        (0..50)
            .map(|_| {
                request(
                    &app,
                    Method::POST,
                    "/v1/admin/organizations",
                    Some(json!({"name": "Acme"})),
                )
            })
            .collect(),
    )
    .await;

    let organization = assert_one_created(&answers, "Organization already exists.");
    assert_eq!(organization["name"], "Acme");
    assert_eq!(total(&app, "/v1/admin/organizations").await, 1);
}

#[tokio::test]
async fn fifty_concurrent_creations_of_one_role_name_make_exactly_one_with_its_permissions() {
    let app = TestApp::spawn().await;
    let answers = race(
        (0..50)
            .map(|i| {
                let body = json!({
                    "name": "members",
                    "permissions": ["read_metric"],
                    "limits": [{"router_id": 1, "type": "rpm", "value": i}],
                });
                request(&app, Method::POST, "/v1/admin/roles", Some(body))
            })
            .collect(),
    )
    .await;

    let role = assert_one_created(&answers, "Role already exists.");
    assert_eq!(total(&app, "/v1/admin/roles").await, 1);
    // The role that stayed is the one that was answered, with its own lists only.
    let stored = app.get(&format!("/v1/admin/roles/{}", role["id"])).await;
    assert_eq!(stored.body["permissions"], json!(["read_metric"]));
    assert_eq!(stored.body["limits"], role["limits"], "{}", stored.text);
    assert_eq!(stored.body["limits"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn fifty_concurrent_creations_of_one_project_name_in_one_organization_make_exactly_one() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let globex = app.create_organization("Globex").await;
    let answers = race(
        (0..50)
            .map(|_| {
                request(
                    &app,
                    Method::POST,
                    "/v1/admin/projects",
                    Some(json!({"name": "Apollo", "organization": acme, "budget": 10})),
                )
            })
            .collect(),
    )
    .await;

    let project = assert_one_created(&answers, "Project already exists.");
    assert_eq!(project["organization"], acme);
    assert_eq!(total(&app, "/v1/admin/projects").await, 1);

    // The name is still free in another organization.
    let other = app
        .post(
            "/v1/admin/projects",
            json!({"name": "Apollo", "organization": globex}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
}

// ---------------------------------------------------------------------------------------------
// Changes racing the deletion of what they change

/// 20 patches of one user (name, email, budget, now and then the organization or the password,
/// some asking for the updated object) and uses of their key, racing the user's deletion, sent
/// as request number `delete_at` of the race.
async fn patches_racing_a_deletion(app: &TestApp, round: usize, delete_at: usize) {
    let role = app.create_role(&format!("role {round}"), &[]).await;
    let organization = app.create_organization(&format!("org {round}")).await;
    let email = format!("user{round}@example.com");
    let user = app.create_user(&email, role, Some(organization)).await;
    let key = app.create_key(user).await;
    let path = format!("/v1/admin/users/{user}");

    let mut requests: Vec<RequestBuilder> = (0..20)
        .map(|i| {
            let mut body = json!({
                "name": format!("name {i}"),
                "email": format!("user{round}-{i}@example.com"),
                "budget": i,
            });
            match i % 5 {
                1 => body["organization"] = Value::Null,
                2 => body["organization"] = json!(organization),
                3 => body["password"] = json!(format!("new password {i}")),
                _ => {}
            }
            let update = request(app, Method::PATCH, &path, Some(body));
            if i % 2 == 0 {
                update.header("Prefer", "return=representation")
            } else {
                update
            }
        })
        .collect();
    for _ in 0..5 {
        requests.push(app.client.get(app.url("/v1/me/info")).bearer_auth(&key));
    }
    requests.insert(delete_at, request(app, Method::DELETE, &path, None));
    let answers = race(requests).await;

    assert_no_server_error(&answers);
    for (index, answer) in answers.iter().enumerate() {
        if index == delete_at {
            assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
            continue;
        }
        match answer.status.as_u16() {
            204 => assert_eq!(answer.text, ""),
            200 => assert!(
                answer.body["object"] == "user" || answer.body["object"] == "userInfo",
                "{}",
                answer.text
            ),
            404 => answer.assert_detail(404, "User not found."),
            401 => answer.assert_detail(401, "Invalid API key."),
            _ => panic!("#{index}: {} {}", answer.status, answer.text),
        }
    }

    // The user is gone, with their key.
    app.get(&path).await.assert_detail(404, "User not found.");
    app.call(Method::GET, "/v1/me/info", Some(&key), None)
        .await
        .assert_detail(401, "Invalid API key.");
    assert_eq!(
        total(app, &format!("/v1/admin/tokens?user={user}")).await,
        0
    );
    let organization = app
        .get(&format!("/v1/admin/organizations/{organization}"))
        .await;
    assert_eq!(organization.body["users"], 0, "{}", organization.text);
}

#[tokio::test]
async fn patches_racing_the_deletion_of_a_user_are_204_200_or_404_and_the_user_is_gone() {
    let app = TestApp::spawn().await;
    for (round, delete_at) in [0, 3, 8, 12, 19, 25].into_iter().enumerate() {
        patches_racing_a_deletion(&app, round, delete_at).await;
    }
    assert_eq!(total(&app, "/v1/admin/users").await, 0);
}

// ---------------------------------------------------------------------------------------------
// Unique values swapped or handed over
//
// Two rows changed to each other's unique value at once used to deadlock in PostgreSQL's unique
// index, and one of the two answered 500 (see "Changes of a unique value" in the infrastructure
// crate's `repositories`). A pure swap has no winner: neither value is ever free. A hand-over
// (one row takes the value another is leaving) may go either way.

/// Pairs of objects at `paths`, each patched to the other's value of `field` at once, all pairs
/// together, `rounds` times. Neither value of a pair is ever free, so neither patch can win: each
/// must be refused with 409 `detail`, and every object keeps its value. `spell` may change the
/// letter case of the value sent (round, value).
async fn swap_race(
    app: &TestApp,
    field: &str,
    pairs: &[[(String, String); 2]],
    rounds: usize,
    detail: &str,
    spell: impl Fn(usize, &str) -> String,
) {
    for round in 0..rounds {
        let mut requests = Vec::new();
        for [(a_path, a_value), (b_path, b_value)] in pairs {
            let mut body = json!({});
            body[field] = json!(spell(round, b_value));
            requests.push(request(app, Method::PATCH, a_path, Some(body)));
            let mut body = json!({});
            body[field] = json!(spell(round + 1, a_value));
            requests.push(request(app, Method::PATCH, b_path, Some(body)));
        }
        let answers = race(requests).await;
        assert_no_server_error(&answers);
        for answer in &answers {
            answer.assert_detail(409, detail);
        }
    }
    for pair in pairs {
        for (path, value) in pair {
            let answer = app.get(path).await;
            assert_eq!(answer.body[field], json!(value), "{}", answer.text);
        }
    }
}

/// Swaps are raced by this many pairs at once, this many times.
const PAIRS: usize = 8;
const ROUNDS: usize = 25;

/// A server whose pool has room for every request of a swap race at once, so that both patches of
/// a pair run their statements at the same time as often as possible; and its database, to keep.
async fn app_with_a_large_pool() -> (TestApp, TestDatabase) {
    let db = TestDatabase::new();
    let pool = connect(
        db.url(),
        2 * u32::try_from(PAIRS).unwrap(),
        DEFAULT_CONNECTION_TIMEOUT,
        None,
    )
    .unwrap();
    (TestApp::spawn_on_pool(pool).await, db)
}

#[tokio::test]
async fn users_patched_to_each_others_email_at_once_are_both_409_and_never_share_one() {
    let (app, _db) = app_with_a_large_pool().await;
    let role = app.create_role("members", &[]).await;
    let mut pairs = Vec::new();
    for pair in 0..PAIRS {
        let mut users = Vec::new();
        for name in ["ada", "bob"] {
            let email = format!("{name}{pair}@example.com");
            let id = app.create_user(&email, role, None).await;
            users.push((format!("/v1/admin/users/{id}"), email));
        }
        pairs.push([users[0].clone(), users[1].clone()]);
    }
    swap_race(
        &app,
        "email",
        &pairs,
        ROUNDS,
        "User already exists.",
        |round, email| in_some_case(email, round),
    )
    .await;
}

#[tokio::test]
async fn a_user_patched_to_the_email_another_is_leaving_gets_it_or_409_never_sharing_it() {
    let (app, _db) = app_with_a_large_pool().await;
    let role = app.create_role("members", &[]).await;
    let mut pairs = Vec::new();
    for pair in 0..PAIRS {
        let ada = app
            .create_user(&format!("ada{pair}@example.com"), role, None)
            .await;
        let bob = app
            .create_user(&format!("bob{pair}@example.com"), role, None)
            .await;
        pairs.push((
            format!("/v1/admin/users/{ada}"),
            format!("/v1/admin/users/{bob}"),
        ));
    }
    let email = |answer: Answer| answer.body["email"].as_str().unwrap().to_owned();

    let mut won = 0;
    for round in 0..5 {
        // Each pair: Ada takes Bob's address while Bob moves to a fresh one.
        let mut before = Vec::new();
        let mut requests = Vec::new();
        for (pair, (ada, bob)) in pairs.iter().enumerate() {
            let ada_email = email(app.get(ada).await);
            let bob_email = email(app.get(bob).await);
            let fresh = format!("fresh{round}-{pair}@example.com");
            requests.push(request(
                &app,
                Method::PATCH,
                ada,
                Some(json!({"email": in_some_case(&bob_email, round)})),
            ));
            requests.push(request(
                &app,
                Method::PATCH,
                bob,
                Some(json!({"email": fresh})),
            ));
            before.push((ada_email, bob_email, fresh));
        }
        let answers = race(requests).await;

        assert_no_server_error(&answers);
        for ((pair, (ada, bob)), (ada_email, bob_email, fresh)) in
            pairs.iter().enumerate().zip(before)
        {
            let (ada_answer, bob_answer) = (&answers[2 * pair], &answers[2 * pair + 1]);
            assert_eq!(
                bob_answer.status,
                StatusCode::NO_CONTENT,
                "{}",
                bob_answer.text
            );
            assert_eq!(email(app.get(bob).await), fresh);
            let now = email(app.get(ada).await);
            if ada_answer.status == StatusCode::NO_CONTENT {
                won += 1;
                assert_eq!(now.to_lowercase(), bob_email.to_lowercase());
            } else {
                ada_answer.assert_detail(409, "User already exists.");
                assert_eq!(now, ada_email);
            }
        }
        let users = app.get("/v1/admin/users?limit=100").await;
        let mut emails: Vec<String> = users.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| user["email"].as_str().unwrap().to_lowercase())
            .collect();
        let count = emails.len();
        emails.sort();
        emails.dedup();
        assert_eq!(
            emails.len(),
            count,
            "two users share an address: {}",
            users.text
        );
    }
    // Not an assertion on timing, only a hint that the race was run at all.
    println!("Ada got Bob's address {won} times out of {}", 5 * PAIRS);
}

/// `PAIRS` pairs of objects named `<prefix> a<n>` and `<prefix> b<n>`, made by `create` (which
/// returns the object's path), for [`swap_race`] on their names.
async fn named_pairs<F, Fut>(prefix: &str, mut create: F) -> Vec<[(String, String); 2]>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let mut pairs = Vec::new();
    for pair in 0..PAIRS {
        let a = format!("{prefix} a{pair}");
        let b = format!("{prefix} b{pair}");
        let a_path = create(a.clone()).await;
        let b_path = create(b.clone()).await;
        pairs.push([(a_path, a), (b_path, b)]);
    }
    pairs
}

#[tokio::test]
async fn organizations_roles_and_projects_renamed_to_each_others_name_at_once_are_both_409() {
    let (app, _db) = app_with_a_large_pool().await;
    let organizations = named_pairs("org", |name| {
        let app = &app;
        async move {
            let id = app.create_organization(&name).await;
            format!("/v1/admin/organizations/{id}")
        }
    })
    .await;
    let roles = named_pairs("role", |name| {
        let app = &app;
        async move {
            let id = app.create_role(&name, &[]).await;
            format!("/v1/admin/roles/{id}")
        }
    })
    .await;
    let acme = app.create_organization("Acme").await;
    let projects = named_pairs("project", |name| {
        let app = &app;
        async move {
            let answer = app
                .post(
                    "/v1/admin/projects",
                    json!({"name": name, "organization": acme}),
                )
                .await;
            assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
            format!("/v1/admin/projects/{}", answer.body["id"])
        }
    })
    .await;

    let keep = |_: usize, name: &str| name.to_owned();
    swap_race(
        &app,
        "name",
        &organizations,
        ROUNDS,
        "Organization name already taken. Please, choose another one.",
        keep,
    )
    .await;
    swap_race(&app, "name", &roles, ROUNDS, "Role already exists.", keep).await;
    swap_race(
        &app,
        "name",
        &projects,
        ROUNDS,
        "Project already exists.",
        keep,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Creations racing the deletion of what they point at

#[tokio::test]
async fn users_created_in_a_role_and_an_organization_being_deleted_never_point_at_nothing() {
    let app = TestApp::spawn().await;
    for round in 0..4 {
        let role = app.create_role(&format!("doomed {round}"), &[]).await;
        let organization = app.create_organization(&format!("doomed {round}")).await;
        let mut requests: Vec<RequestBuilder> = (0..12)
            .map(|i| {
                let body = json!({
                    "email": format!("user{round}-{i}@example.com"),
                    "password": PASSWORD,
                    "role": role,
                    "organization": organization,
                });
                request(&app, Method::POST, "/v1/admin/users", Some(body))
            })
            .collect();
        // The two deletions at positions that move from round to round (inserted in this order,
        // the first never shifts the second).
        let delete_role = round * 3;
        let delete_organization = 13 - round * 3;
        let mut deletions = [
            (delete_role, format!("/v1/admin/roles/{role}")),
            (
                delete_organization,
                format!("/v1/admin/organizations/{organization}"),
            ),
        ];
        deletions.sort();
        for (index, path) in deletions {
            requests.insert(index, request(&app, Method::DELETE, &path, None));
        }
        let answers = race(requests).await;

        assert_no_server_error(&answers);
        let mut created = 0;
        for (index, answer) in answers.iter().enumerate() {
            if index == delete_role {
                if answer.status != StatusCode::NO_CONTENT {
                    answer.assert_detail(409, "Delete role with users is not allowed.");
                }
            } else if index == delete_organization {
                if answer.status != StatusCode::NO_CONTENT {
                    answer.assert_detail(409, "Delete organization with users is not allowed.");
                }
            } else {
                match answer.status.as_u16() {
                    201 => created += 1,
                    404 => assert!(
                        answer.body["detail"] == "Role not found."
                            || answer.body["detail"] == "Organization not found.",
                        "{}",
                        answer.text
                    ),
                    _ => panic!("#{index}: {} {}", answer.status, answer.text),
                }
            }
        }

        // What the API says afterwards agrees with itself: a deletion that succeeded left no
        // user behind, and every user created points at a role and organization that exist.
        let role_answer = app.get(&format!("/v1/admin/roles/{role}")).await;
        let organization_answer = app
            .get(&format!("/v1/admin/organizations/{organization}"))
            .await;
        let users = app
            .get(&format!("/v1/admin/users?limit=100&role={role}"))
            .await;
        assert_eq!(users.body["total"], created, "{}", users.text);
        if answers[delete_role].status == StatusCode::NO_CONTENT {
            role_answer.assert_detail(404, "Role not found.");
            assert_eq!(created, 0, "users created in a deleted role");
        } else {
            assert_eq!(role_answer.body["users"], created, "{}", role_answer.text);
        }
        if answers[delete_organization].status == StatusCode::NO_CONTENT {
            organization_answer.assert_detail(404, "Organization not found.");
            assert_eq!(created, 0, "users created in a deleted organization");
        } else {
            assert_eq!(
                organization_answer.body["users"], created,
                "{}",
                organization_answer.text
            );
        }
        let by_organization = app
            .get(&format!(
                "/v1/admin/users?limit=100&organization={organization}"
            ))
            .await;
        assert_eq!(by_organization.body["total"], created);
        for user in users.body["data"].as_array().unwrap() {
            assert_eq!(user["role"], role);
            assert_eq!(user["organization"], organization);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Logins racing password changes

#[tokio::test]
async fn logins_racing_password_changes_of_one_user_never_fail_with_a_5xx() {
    // Most of the logins fail, by design: throttling (see throttling.rs) must not end the race.
    let app = TestApp::spawn_with(|settings| settings.login_max_failures = 100).await;
    let role = app.create_role("members", &[]).await;
    let user = app.create_user("ada@example.com", role, None).await;
    let key = app.create_key(user).await;
    let passwords = ["first passphrase", "second passphrase", PASSWORD];

    let mut requests = Vec::new();
    for i in 0..24 {
        let request = match i % 4 {
            // Logins with each of the passwords the user has over the race.
            0 | 1 => app.client.post(app.url("/v1/auth/login")).json(&json!({
                "email": in_some_case("ada@example.com", i),
                "password": passwords[i % 3],
            })),
            // The user changes their own password, knowing one of the current ones.
            2 => app
                .client
                .patch(app.url("/v1/me/info"))
                .bearer_auth(&key)
                .json(&json!({
                    "current_password": passwords[(i + 2) % 3],
                    "password": passwords[i % 3],
                })),
            // An admin sets it.
            _ => request(
                &app,
                Method::PATCH,
                &format!("/v1/admin/users/{user}"),
                Some(json!({"password": passwords[i % 3]})),
            ),
        };
        requests.push(request);
    }
    let answers = race(requests).await;

    assert_no_server_error(&answers);
    let mut sessions = Vec::new();
    for (index, answer) in answers.iter().enumerate() {
        match (index % 4, answer.status.as_u16()) {
            (0 | 1, 200) => sessions.push(answer.body["key"].as_str().unwrap().to_owned()),
            (0 | 1, 401) => answer.assert_detail(401, "Invalid email or password."),
            (2, 401) => answer.assert_detail(401, "Invalid current password."),
            (2 | 3, 204) => {}
            _ => panic!("#{index}: {} {}", answer.status, answer.text),
        }
    }

    // Whatever the order, one session key at most remains (a login replaces the previous one, a
    // password change ends them all) and it works, and the password the user has now is one of
    // those set.
    let tokens = app.get(&format!("/v1/admin/tokens?user={user}")).await;
    let playground = tokens.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|token| token["name"] == "playground")
        .count();
    assert!(
        playground <= usize::from(!sessions.is_empty()),
        "{}",
        tokens.text
    );
    let working = {
        let mut working = 0;
        for session in &sessions {
            let answer = app
                .call(Method::GET, "/v1/me/info", Some(session), None)
                .await;
            if answer.status == StatusCode::OK {
                working += 1;
            } else {
                answer.assert_detail(401, "Invalid API key.");
            }
        }
        working
    };
    assert_eq!(working, playground);
    let mut logged_in = 0;
    for password in passwords {
        let answer = app
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({"email": "ada@example.com", "password": password})),
            )
            .await;
        assert_no_server_error(std::slice::from_ref(&answer));
        if answer.status == StatusCode::OK {
            logged_in += 1;
        }
    }
    assert_eq!(logged_in, 1, "exactly one of the passwords works");
}
