//! The audit log, for admins: the events newest first with the API's filters, each shown as
//! `GET /v1/admin/audit` shows it, and the same page exported as the API's CSV.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use gatehouse_api::dto::audit::AuditEventResponse;
use gatehouse_api::routes::audit::{
    LIMIT_HEADER, OFFSET_HEADER, TEXT_CSV_UTF_8, TOTAL_HEADER, csv_body, list_query,
};
use gatehouse_api::{ApiError, AppState};
use gatehouse_application::Principal;
use gatehouse_domain::{AuditAction, AuditEntity, AuditOrder, Page, PageRequest};

use crate::error::ConsoleError;
use crate::fields::{Choice, Field, Problems};
use crate::listing::{ListQuery, Listing};
use crate::page::{self, PageContext, unix_time};
use crate::pages::filters::FilterQuery;
use crate::session::AdminSession;

/// Mounts the audit log pages.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/admin/audit", web::get().to(list))
        .route("/admin/audit.csv", web::get().to(export));
}

/// Newest first, unless the page asks otherwise.
const DEFAULTS: &[(&str, &str)] = &[("order_direction", "desc")];

/// The filters of the form.
const FILTERS: [&str; 6] = ["actor", "entity_type", "entity_id", "action", "from", "to"];

/// The events the query of `query` asks for, as the API shows them.
async fn events(
    state: &AppState,
    actor: &Principal,
    query: &FilterQuery,
) -> Result<(Page<AuditEventResponse>, PageRequest<AuditOrder>), ApiError> {
    let (filter, page) = query.read(DEFAULTS, list_query)?;
    let found = state.audit.list(actor, filter, page).await?;
    let items = found
        .items
        .into_iter()
        .map(AuditEventResponse::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        Page {
            items,
            total: found.total,
        },
        page,
    ))
}

/// An event as a row of the table.
struct EventRow {
    event: AuditEventResponse,
    time: String,
    before: Option<String>,
    after: Option<String>,
}

impl From<AuditEventResponse> for EventRow {
    fn from(event: AuditEventResponse) -> Self {
        let json = |raw: &Option<Box<serde_json::value::RawValue>>| {
            raw.as_ref().map(|raw| raw.get().to_owned())
        };
        Self {
            time: unix_time(event.created),
            before: json(&event.before),
            after: json(&event.after),
            event,
        }
    }
}

/// The events of a valid query, with the headers, the pager and the export link.
struct EventsView {
    rows: Vec<EventRow>,
    listing: Listing,
    export: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    ctx: PageContext,
    filters: Vec<Field>,
    problems: Problems,
    view: Option<EventsView>,
}

/// A `select` of `words`, with "Any" first.
fn words(name: &str, label: &str, words: &[&str], current: &str, problems: &Problems) -> Field {
    let mut options = vec![Choice::new("", "Any", current)];
    options.extend(words.iter().map(|word| Choice::new(*word, *word, current)));
    Field::new("select", name, label)
        .options(options)
        .problems(problems)
}

async fn list(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let query = FilterQuery::of(&request);
    let (problems, view) = match events(&state, &session.principal, &query).await {
        Ok((found, page)) => {
            let listing = ListQuery::of(&request).listing(
                &[
                    ("Id", Some("id")),
                    ("Time", None),
                    ("Actor", None),
                    ("Request id", None),
                    ("Action", None),
                    ("Entity", None),
                    ("Before", None),
                    ("After", None),
                ],
                "id",
                &page,
                found.total,
            );
            let view = EventsView {
                rows: found.items.into_iter().map(EventRow::from).collect(),
                listing,
                export: query.link("/console/admin/audit.csv"),
            };
            (Problems::none(), Some(view))
        }
        // Only a query that is not valid is shown in the form; anything else is the error page.
        Err(error @ ApiError::Invalid(_)) => (Problems::of(error, &FILTERS), None),
        Err(error) => return Err(error.into()),
    };
    let entities: Vec<&str> = AuditEntity::ALL
        .iter()
        .map(|entity| entity.as_str())
        .collect();
    let actions: Vec<&str> = AuditAction::ALL
        .iter()
        .map(|action| action.as_str())
        .collect();
    let filters = vec![
        Field::new("number", "actor", "Actor (user id)")
            .value(query.raw("actor"))
            .problems(&problems),
        words(
            "entity_type",
            "Entity type",
            &entities,
            query.raw("entity_type"),
            &problems,
        ),
        Field::new("number", "entity_id", "Entity id")
            .value(query.raw("entity_id"))
            .problems(&problems),
        words("action", "Action", &actions, query.raw("action"), &problems),
        Field::new("date", "from", "From")
            .value(query.raw("from"))
            .problems(&problems),
        Field::new("date", "to", "To")
            .value(query.raw("to"))
            .hint("Events before this day.")
            .problems(&problems),
    ];
    let status = problems.status;
    let ctx = session.context;
    let page = AuditPage {
        ctx: ctx.clone(),
        filters,
        problems,
        view,
    };
    page::render(&ctx, status, &page)
}

/// The page of events as the API's CSV export, to download.
async fn export(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let query = FilterQuery::of(&request);
    let (found, page) = events(&state, &session.principal, &query).await?;
    let body = csv_body(&found.items)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, TEXT_CSV_UTF_8))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"audit.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((TOTAL_HEADER, found.total))
        .insert_header((OFFSET_HEADER, page.offset()))
        .insert_header((LIMIT_HEADER, page.limit()))
        .body(body))
}
