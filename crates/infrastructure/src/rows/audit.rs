//! Rows of `audit_events`.

use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Json;
use gatehouse_domain::{
    Actor, ApiKeyId, AuditEvent, DateTime, DomainError, RequestId, UserId, Utc,
};
use ipnet::IpNet;

use crate::error::corrupt;
use crate::schema::audit_events;

/// JSON kept as the text it was written as: `json` stores its input as is, and on the wire (text
/// or binary) it is that text, so it goes in and out without being parsed here. diesel's own
/// `Json` support would parse it into a `serde_json::Value` each way, and lose the key order.
#[derive(Debug, Clone, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Json)]
pub(crate) struct JsonText(pub(crate) String);

impl ToSql<Json, Pg> for JsonText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.0.as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Json, Pg> for JsonText {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(Self(String::from_utf8(value.as_bytes().to_vec())?))
    }
}

/// What is inserted for one event; `id` and `created` come from the database.
#[derive(Insertable)]
#[diesel(table_name = audit_events)]
pub(crate) struct NewAuditEventRow<'a> {
    pub(crate) actor_user: Option<i64>,
    pub(crate) actor_key: Option<i64>,
    pub(crate) actor_address: Option<IpNet>,
    pub(crate) request_id: Option<&'a str>,
    pub(crate) action: &'a str,
    pub(crate) entity_type: &'a str,
    pub(crate) entity_id: Option<i64>,
    pub(crate) before: Option<JsonText>,
    pub(crate) after: Option<JsonText>,
}

/// One event as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events, check_for_backend(Pg))]
pub(crate) struct AuditEventRow {
    id: i64,
    created: DateTime<Utc>,
    actor_user: Option<i64>,
    actor_key: Option<i64>,
    actor_address: Option<IpNet>,
    request_id: Option<String>,
    action: String,
    entity_type: String,
    entity_id: Option<i64>,
    before: Option<JsonText>,
    after: Option<JsonText>,
}

impl AuditEventRow {
    /// The event, its words checked by the domain.
    pub(crate) fn into_domain(self) -> Result<AuditEvent, DomainError> {
        let request_id = self
            .request_id
            .map(|text| RequestId::parse(&text))
            .transpose()
            .map_err(corrupt("audit_events", "request_id"))?;
        Ok(AuditEvent {
            id: self.id,
            created: self.created,
            actor: Actor {
                user: self.actor_user.map(UserId),
                key: self.actor_key.map(ApiKeyId),
                address: self.actor_address.map(|network| network.addr()),
                request_id,
            },
            action: self
                .action
                .parse()
                .map_err(corrupt("audit_events", "action"))?,
            entity: self
                .entity_type
                .parse()
                .map_err(corrupt("audit_events", "entity_type"))?,
            entity_id: self.entity_id,
            before: self.before.map(|json| json.0),
            after: self.after.map(|json| json.0),
        })
    }
}
