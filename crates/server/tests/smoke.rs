//! The server starts and answers: a first check of the test support itself.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::TestApp;

#[tokio::test]
async fn an_organization_created_with_the_master_key_can_be_read_back() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let answer = app.get(&format!("/v1/admin/organizations/{id}")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["name"], json!("Acme"));
    assert_eq!(answer.body["users"], json!(0));
}
