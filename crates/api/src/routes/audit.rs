//! `/v1/admin/audit`: the audit log, as a JSON list or, for `Accept: text/csv`, the same page as
//! CSV.

use actix_web::http::header::{self, Accept, Header, HeaderValue};
use actix_web::mime;
use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_domain::{
    AuditAction, AuditEntity, AuditFilter, AuditOrder, DomainError, Page, PageRequest, UserId,
};

use crate::auth::Admin;
use crate::dto::ListResponse;
use crate::dto::UnixTime;
use crate::dto::audit::{AuditEventResponse, CSV_COLUMNS};
use crate::dto::list::{AuditOrderBy, OrderDirection};
use crate::dto::schema::{AuditActionWord, AuditEntityWord, UnixTimeFilter};
use crate::error::{ApiError, ValidationErrorBody};
use crate::input::{QueryFields, RawQuery};
use crate::routes::method_not_allowed;
use crate::state::AppState;

/// The header of a CSV export giving how many events match in all, as `total` does in JSON.
pub const TOTAL_HEADER: &str = "X-Total-Count";
/// The header of a CSV export giving the events skipped, as `offset` does in JSON.
pub const OFFSET_HEADER: &str = "X-Offset";
/// The header of a CSV export giving the page size asked for, as `limit` does in JSON.
pub const LIMIT_HEADER: &str = "X-Limit";

/// The media type of a CSV export.
pub const TEXT_CSV_UTF_8: &str = "text/csv; charset=utf-8";

/// Mounts the audit endpoint.
pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::resource("/v1/admin/audit")
            .get(list)
            .default_service(method_not_allowed("GET")),
    );
}

/// The list's query: its filters and its page, every invalid parameter reported at once. Public
/// so that the console reads its filters by the same rules.
///
/// # Errors
/// [`ApiError::Invalid`] with every invalid parameter.
pub fn list_query(query: RawQuery) -> Result<(AuditFilter, PageRequest<AuditOrder>), ApiError> {
    let mut query = QueryFields::new(query);
    let filter = AuditFilter {
        actor: query.get::<i64>("actor").map(UserId),
        entity: query.get::<AuditEntity>("entity_type"),
        entity_id: query.get::<i64>("entity_id"),
        action: query.get::<AuditAction>("action"),
        from: query.get::<UnixTime>("from").map(|time| time.0),
        to: query.get::<UnixTime>("to").map(|time| time.0),
    };
    Ok((filter, query.finish_page()?))
}

/// Whether the client asks for CSV: `Accept` names `text/csv` itself with a quality above zero
/// and at least that of JSON (the most specific of `application/json`, `application/*`, `*/*`
/// it lists; zero when none). So a client that names CSV gets it unless it prefers JSON, and
/// `*/*`, no header or an unreadable one get JSON.
fn wants_csv(request: &HttpRequest) -> bool {
    let Ok(accept) = Accept::parse(request) else {
        return false;
    };
    let quality_of = |matches: &dyn Fn(&mime::Mime) -> bool| {
        accept
            .iter()
            .filter(|item| matches(&item.item))
            .map(|item| item.quality)
            .max()
    };
    let csv = quality_of(&|mime| mime.type_() == mime::TEXT && mime.subtype() == mime::CSV);
    let json =
        quality_of(&|mime| mime.type_() == mime::APPLICATION && mime.subtype() == mime::JSON)
            .or_else(|| {
                quality_of(&|mime| {
                    mime.type_() == mime::APPLICATION && mime.subtype() == mime::STAR
                })
            })
            .or_else(|| quality_of(&|mime| mime.type_() == mime::STAR));
    match (csv, json) {
        (Some(csv), json) => csv > header::Quality::ZERO && json.is_none_or(|json| csv >= json),
        (None, _) => false,
    }
}

/// The events as CSV: a header row of [`CSV_COLUMNS`], then one row per event. Public so that
/// the console's export is this very text.
///
/// # Errors
/// `Unexpected` when the writer fails, which writing to memory does not.
pub fn csv_body(events: &[AuditEventResponse]) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(CSV_COLUMNS)
        .map_err(DomainError::unexpected)?;
    for event in events {
        writer
            .write_record(event.csv_record())
            .map_err(DomainError::unexpected)?;
    }
    Ok(writer.into_inner().map_err(DomainError::unexpected)?)
}

/// The page as CSV; `total`, `offset` and `limit` in headers, so that a client can page through
/// a whole export.
fn csv_answer(
    events: &[AuditEventResponse],
    total: i64,
    page: &PageRequest<AuditOrder>,
) -> Result<HttpResponse, ApiError> {
    let body = csv_body(events)?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(TEXT_CSV_UTF_8),
        ))
        .insert_header((TOTAL_HEADER, total))
        .insert_header((OFFSET_HEADER, page.offset()))
        .insert_header((LIMIT_HEADER, page.limit()))
        .insert_header((header::VARY, "Accept"))
        .body(body))
}

/// The audit log: who changed what, when, from where, and what it was before and after. With
/// `Accept: text/csv` (named with a quality at least that of JSON), the same page as CSV with
/// the columns `id,created,actor_user,actor_key,actor_address,request_id,action,entity_type,entity_id,before,after`
/// (`before`/`after` as JSON text, empty for `null`), and `total`, `offset`, `limit` in the
/// `X-Total-Count`, `X-Offset` and `X-Limit` headers.
#[utoipa::path(
    get, path = "/v1/admin/audit", tag = "audit",
    params(
        ("actor" = Option<i64>, Query, description = "Only the events of this acting user (0: the master key)."),
        ("entity_type" = inline(Option<AuditEntityWord>), Query, description = "Only the events about this kind of object."),
        ("entity_id" = Option<i64>, Query, description = "Only the events about the object with this id."),
        ("action" = inline(Option<AuditActionWord>), Query, description = "Only the events of this action."),
        ("from" = inline(Option<UnixTimeFilter>), Query, description = "Only events written at or after this time, Unix seconds."),
        ("to" = inline(Option<UnixTimeFilter>), Query, description = "Only events written before this time, Unix seconds."),
        ("offset" = Option<i64>, Query, description = "Items to skip, >= 0.", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 10).", minimum = 1, maximum = 100),
        ("order_by" = inline(Option<AuditOrderBy>), Query, description = "`id` (default), the order of writing."),
        ("order_direction" = inline(Option<OrderDirection>), Query, description = "`asc` (default) or `desc`."),
    ),
    responses(
        (
            status = 200,
            description = "One page of events: JSON, or CSV for `Accept: text/csv`.",
            content(
                (ListResponse<AuditEventResponse> = "application/json"),
                (String = "text/csv"),
            ),
            headers(
                ("X-Total-Count" = i64, description = "CSV only: how many events match in all."),
                ("X-Offset" = i64, description = "CSV only: how many events were skipped."),
                ("X-Limit" = i64, description = "CSV only: the page size asked for."),
                ("Vary" = String, description = "Always `Accept`: the answer depends on it."),
            ),
        ),
        (status = 422, description = "Invalid query.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    state: web::Data<AppState>,
    request: HttpRequest,
    Admin(actor, query): Admin<RawQuery>,
) -> Result<HttpResponse, ApiError> {
    let (filter, page) = list_query(query)?;
    let events = state.audit.list(&actor, filter, page).await?;
    let items = events
        .items
        .into_iter()
        .map(AuditEventResponse::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    if wants_csv(&request) {
        return csv_answer(&items, events.total, &page);
    }
    let events = Page {
        items,
        total: events.total,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::VARY, "Accept"))
        .json(ListResponse::new(events, &page, |event| event)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn csv_for(accept: Option<&str>) -> bool {
        let mut request = TestRequest::default();
        if let Some(accept) = accept {
            request = request.insert_header((header::ACCEPT, accept));
        }
        wants_csv(&request.to_http_request())
    }

    #[test]
    fn csv_is_for_clients_that_name_it_and_do_not_prefer_json() {
        for accept in [
            "text/csv",
            "text/csv; charset=utf-8",
            "application/json, text/csv",
            "text/csv;q=0.5, */*;q=0.1",
            "application/json;q=0.4, text/csv;q=0.5",
            "*/*, text/csv",
            "application/*;q=0.2, text/csv;q=0.3",
            "text/csv, application/json;q=0.9, */*",
        ] {
            assert!(csv_for(Some(accept)), "{accept}");
        }
        for accept in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("text/*"),
            Some("application/json, text/csv;q=0.5"),
            Some("application/*, text/csv;q=0.9"),
            Some("text/csv;q=0"),
            Some("text/html"),
            Some("nonsense;;;"),
        ] {
            assert!(!csv_for(accept), "{accept:?}");
        }
    }
}
