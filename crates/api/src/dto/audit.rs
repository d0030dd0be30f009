//! Audit events as the API shows them: JSON objects, or rows of a CSV export with the same values.

use gatehouse_domain::{ApiKeyId, AuditEvent, DomainError, UserId};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::unix;

/// Who acted, from where.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditActor)]
pub struct AuditActorResponse {
    /// The acting user's id: `0` for the master key, `null` for a failed login.
    pub user: Option<i64>,
    /// The key used; `null` for the master key and logins.
    pub key: Option<i64>,
    /// The client's address, when known.
    pub address: Option<String>,
}

/// What an event is about.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditEntity)]
pub struct AuditEntityResponse {
    /// `organization`, `user`, `role`, `token`, `project` or `session`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "user")]
    pub kind: &'static str,
    /// The object's id, when it has one.
    pub id: Option<i64>,
}

/// One event of the audit log.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditEvent)]
pub struct AuditEventResponse {
    /// Always `auditEvent`.
    #[schema(value_type = String, example = "auditEvent")]
    pub object: &'static str,
    /// Its id: events are numbered in the order they were written.
    pub id: i64,
    /// When it was written, Unix seconds.
    pub created: i64,
    /// Who acted.
    pub actor: AuditActorResponse,
    /// The `X-Request-Id` of the request the change came with.
    pub request_id: Option<String>,
    /// `create`, `update`, `delete`, `add_member`, `remove_member`, `login`, `login_failed` or
    /// `password_change`.
    #[schema(value_type = String, example = "update")]
    pub action: &'static str,
    /// The object.
    pub entity: AuditEntityResponse,
    /// The object as `GET` showed it before; `null` where there was none.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Box<RawValue>>,
    /// The object as `GET` shows it after; `null` where there is none.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Box<RawValue>>,
}

impl TryFrom<AuditEvent> for AuditEventResponse {
    type Error = DomainError;

    /// Embeds the stored JSON text as it is, without parsing it into values and back.
    ///
    /// # Errors
    /// `Unexpected` when stored text is not JSON, which the `json` column prevents.
    fn try_from(event: AuditEvent) -> Result<Self, DomainError> {
        let raw = |text: Option<String>| {
            text.map(RawValue::from_string)
                .transpose()
                .map_err(DomainError::unexpected)
        };
        Ok(Self {
            object: "auditEvent",
            id: event.id,
            created: unix(event.created),
            actor: AuditActorResponse {
                user: event.actor.user.map(UserId::get),
                key: event.actor.key.map(ApiKeyId::get),
                address: event.actor.address.map(|address| address.to_string()),
            },
            request_id: event.actor.request_id.map(|id| id.as_str().to_owned()),
            action: event.action.as_str(),
            entity: AuditEntityResponse {
                kind: event.entity.as_str(),
                id: event.entity_id,
            },
            before: raw(event.before)?,
            after: raw(event.after)?,
        })
    }
}

/// The columns of a CSV export, in order: an event's fields, flattened.
pub const CSV_COLUMNS: [&str; 11] = [
    "id",
    "created",
    "actor_user",
    "actor_key",
    "actor_address",
    "request_id",
    "action",
    "entity_type",
    "entity_id",
    "before",
    "after",
];

impl AuditEventResponse {
    /// The event's row of a CSV export, one field per [`CSV_COLUMNS`]: what its JSON shows, with
    /// `before` and `after` as their JSON text and an empty field for `null`.
    pub fn csv_record(&self) -> [String; 11] {
        fn text<T: ToString>(value: Option<T>) -> String {
            value.map(|value| value.to_string()).unwrap_or_default()
        }
        let json = |value: Option<&Box<RawValue>>| text(value.map(|raw| raw.get()));
        [
            self.id.to_string(),
            self.created.to_string(),
            text(self.actor.user),
            text(self.actor.key),
            text(self.actor.address.as_deref()),
            text(self.request_id.as_deref()),
            self.action.to_owned(),
            self.entity.kind.to_owned(),
            text(self.entity.id),
            json(self.before.as_ref()),
            json(self.after.as_ref()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::{Actor, AuditAction, AuditEntity, RequestId, Utc};

    fn event(before: Option<&str>, after: Option<&str>) -> AuditEvent {
        AuditEvent {
            id: 7,
            created: Utc::now(),
            actor: Actor {
                user: Some(UserId(0)),
                key: None,
                address: Some("10.0.0.1".parse().unwrap()),
                request_id: Some(RequestId::parse("req-1").unwrap()),
            },
            action: AuditAction::Update,
            entity: AuditEntity::Role,
            entity_id: Some(3),
            before: before.map(str::to_owned),
            after: after.map(str::to_owned),
        }
    }

    #[test]
    fn the_objects_are_embedded_as_json_and_absent_ones_are_null() {
        let response =
            AuditEventResponse::try_from(event(None, Some(r#"{"name": "admin"}"#))).unwrap();
        let shown = serde_json::to_value(&response).unwrap();
        assert_eq!(shown["object"], "auditEvent");
        assert_eq!(shown["actor"]["user"], 0);
        assert!(shown["actor"]["key"].is_null());
        assert_eq!(shown["actor"]["address"], "10.0.0.1");
        assert_eq!(shown["request_id"], "req-1");
        assert_eq!(shown["entity"]["type"], "role");
        assert!(shown["before"].is_null());
        assert_eq!(shown["after"]["name"], "admin");
    }

    #[test]
    fn a_csv_row_holds_the_json_text_and_empty_fields_for_null() {
        let response = AuditEventResponse::try_from(event(Some(r#"{"a":1}"#), None)).unwrap();
        let row = response.csv_record();
        assert_eq!(row[0], "7");
        assert_eq!(row[2], "0");
        assert_eq!(row[3], "");
        assert_eq!(row[6], "update");
        assert_eq!(row[7], "role");
        assert_eq!(row[9], r#"{"a":1}"#);
        assert_eq!(row[10], "");
    }

    #[test]
    fn stored_text_that_is_not_json_is_an_unexpected_error() {
        assert!(matches!(
            AuditEventResponse::try_from(event(Some("{"), None)),
            Err(DomainError::Unexpected(_))
        ));
    }
}
