//! Usage: one's own (a chart and a table per day, then the records), and everyone's for admins
//! (totals per user, organization, project, router or day, then the records). The filters are
//! read by the API's usage query reader, so they mean what they mean in `GET /v1/me/usage` and
//! `GET /v1/admin/usage`.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use gatehouse_api::dto::gateway::{UsageResponse, UsageTotalResponse};
use gatehouse_api::input::QueryFields;
use gatehouse_api::routes::usage::filter;
use gatehouse_api::{ApiError, AppState};
use gatehouse_domain::{
    Cost, Page, PageRequest, UsageFilter, UsageGroupBy, UsageOrder, UsageRecord, UsageTotal,
};

use crate::error::ConsoleError;
use crate::fields::{Choice, Field, Problems};
use crate::listing::{ListQuery, Listing};
use crate::page::{self, PageContext, date_value, money, unix_time};
use crate::pages::chart::{MAX_DAYS, PerDay, per_day};
use crate::pages::filters::{FilterQuery, day_of, default_period};
use crate::session::{AdminSession, Session};

/// Mounts the usage pages.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/usage", web::get().to(own))
        .route("/admin/usage", web::get().to(everyones));
}

/// What a cell shows for nothing (no project, the master key's missing key id).
const NONE: &str = "—";

/// A usage record as a row of the records table.
struct RecordRow {
    record: UsageResponse,
    time: String,
    organization: String,
    project: String,
    key: String,
    cost: String,
    charged: String,
}

impl From<UsageRecord> for RecordRow {
    fn from(record: UsageRecord) -> Self {
        let record = UsageResponse::from(record);
        let or_none = |id: Option<i64>| id.map_or_else(|| NONE.to_owned(), |id| id.to_string());
        Self {
            time: unix_time(record.created),
            organization: or_none(record.organization),
            project: or_none(record.project),
            key: or_none(record.key),
            cost: money(Some(&record.cost), "0"),
            charged: money(Some(&record.charged), "0"),
            record,
        }
    }
}

/// One page of records, with its headers and pager.
struct Records {
    rows: Vec<RecordRow>,
    listing: Listing,
}

impl Records {
    /// The table of `found`, asked with `page`; `everyone`'s has the user and organization
    /// columns.
    fn of(
        request: &HttpRequest,
        found: Page<UsageRecord>,
        page: &PageRequest<UsageOrder>,
        everyone: bool,
    ) -> Self {
        let mut columns = vec![("Id", Some("id")), ("Time", Some("created"))];
        if everyone {
            columns.extend([("User", None), ("Organization", None)]);
        }
        columns.extend([
            ("Router", None),
            ("Project", None),
            ("Key", None),
            ("Prompt tokens", None),
            ("Completion tokens", None),
            ("Cost", None),
            ("Charged", None),
        ]);
        let listing = ListQuery::of(request).listing(&columns, "id", page, found.total);
        Self {
            rows: found.items.into_iter().map(RecordRow::from).collect(),
            listing,
        }
    }
}

/// The period of a query: the one asked for, or by default the last days.
fn period(query: &FilterQuery, filter: &mut UsageFilter, state: &AppState) -> (String, String) {
    if query.has_no_period() {
        let (from, to) = default_period(state.clock.now());
        filter.from = Some(from);
        filter.to = Some(to);
        (day_of(from), day_of(to))
    } else {
        (query.raw("from").to_owned(), query.raw("to").to_owned())
    }
}

/// The date fields of a filter form.
fn date_fields(from: &str, to: &str, problems: &Problems) -> [Field; 2] {
    [
        Field::new("date", "from", "From")
            .value(from)
            .problems(problems),
        Field::new("date", "to", "To")
            .value(to)
            .hint("Calls before this day.")
            .problems(problems),
    ]
}

/// What one's usage page shows below its filters when they are valid.
struct OwnView {
    per_day: PerDay,
    records: Records,
}

#[derive(Template)]
#[template(path = "usage.html")]
struct OwnPage {
    ctx: PageContext,
    filters: Vec<Field>,
    problems: Problems,
    view: Option<OwnView>,
    max_days: i64,
}

/// One's usage (under a project-bound session, the project's, as `GET /v1/me/usage` shows it).
async fn own(
    request: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, ConsoleError> {
    let query = FilterQuery::of(&request);
    let read = query.read(&[], |raw| {
        let mut fields = QueryFields::new(raw);
        let filter = filter(&mut fields, false);
        Ok((filter, fields.finish_page::<UsageOrder>()?))
    });
    let (from, to, problems, view) = match read {
        Ok((mut filter, page)) => {
            let (from, to) = period(&query, &mut filter, &state);
            let actor = &session.principal;
            let totals = state
                .usage
                .summarize_own(actor, filter, Some(UsageGroupBy::Day))
                .await?;
            let found = state.usage.list_own(actor, filter, page).await?;
            let view = OwnView {
                per_day: per_day(filter.from, filter.to, &totals),
                records: Records::of(&request, found, &page, false),
            };
            (from, to, Problems::none(), Some(view))
        }
        Err(error) => (
            query.raw("from").to_owned(),
            query.raw("to").to_owned(),
            Problems::of(error, &["from", "to"]),
            None,
        ),
    };
    let status = problems.status;
    let ctx = session.context;
    let page = OwnPage {
        ctx: ctx.clone(),
        filters: date_fields(&from, &to, &problems).into(),
        problems,
        view,
        max_days: MAX_DAYS,
    };
    page::render(&ctx, status, &page)
}

/// What people read for a grouping: the select's choice and the group column's header.
fn group_label(group_by: UsageGroupBy) -> &'static str {
    match group_by {
        UsageGroupBy::User => "User",
        UsageGroupBy::Organization => "Organization",
        UsageGroupBy::Project => "Project",
        UsageGroupBy::Router => "Router",
        UsageGroupBy::Day => "Day",
    }
}

/// A group of the summary as a row.
struct GroupRow {
    group: String,
    total: UsageTotalResponse,
    cost: String,
}

/// The summary: one row per group, and their sum.
struct Summary {
    /// The header of the group column ("User", "Day"...).
    label: &'static str,
    rows: Vec<GroupRow>,
    total: GroupRow,
    /// The chart, when grouped by day.
    per_day: Option<PerDay>,
}

impl Summary {
    fn of(group_by: UsageGroupBy, filter: &UsageFilter, totals: Vec<UsageTotal>) -> Self {
        let per_day =
            (group_by == UsageGroupBy::Day).then(|| per_day(filter.from, filter.to, &totals));
        // The sum is exact: counts and millionths are integers.
        let sum = totals.iter().fold(
            UsageTotal {
                group: None,
                requests: 0,
                prompt_tokens: 0,
                completion_tokens: 0,
                cost: Cost::ZERO,
            },
            |sum, total| UsageTotal {
                group: None,
                requests: sum.requests.saturating_add(total.requests),
                prompt_tokens: sum.prompt_tokens.saturating_add(total.prompt_tokens),
                completion_tokens: sum
                    .completion_tokens
                    .saturating_add(total.completion_tokens),
                cost: Cost::from_micros(sum.cost.micros().saturating_add(total.cost.micros()))
                    .unwrap_or(sum.cost),
            },
        );
        let row = |total: UsageTotal| {
            let total = UsageTotalResponse::from(total);
            GroupRow {
                group: match (group_by, total.group) {
                    (_, None) => "None".to_owned(),
                    (UsageGroupBy::Day, Some(day)) => date_value(day),
                    (_, Some(id)) => id.to_string(),
                },
                cost: money(Some(&total.cost), "0"),
                total,
            }
        };
        Self {
            label: group_label(group_by),
            rows: totals.into_iter().map(row).collect(),
            total: row(sum),
            per_day,
        }
    }
}

/// What the admin usage page shows below its filters when they are valid.
struct EveryonesView {
    summary: Summary,
    records: Records,
}

#[derive(Template)]
#[template(path = "admin/usage.html")]
struct EveryonesPage {
    ctx: PageContext,
    filters: Vec<Field>,
    problems: Problems,
    view: Option<EveryonesView>,
    max_days: i64,
}

/// The filters of the admin page besides the dates, with their labels.
const ID_FILTERS: [(&str, &str); 4] = [
    ("user", "User id"),
    ("organization", "Organization id"),
    ("project", "Project id"),
    ("router", "Router"),
];

/// The summary's default grouping: per day, which the chart shows.
const DEFAULT_GROUP_BY: UsageGroupBy = UsageGroupBy::Day;

/// Everyone's usage, for admins: totals per group, and the records.
async fn everyones(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let query = FilterQuery::of(&request);
    let read = query.read(&[("group_by", DEFAULT_GROUP_BY.as_str())], |raw| {
        let mut fields = QueryFields::new(raw);
        let group_by = fields.get::<UsageGroupBy>("group_by");
        let filter = filter(&mut fields, true);
        let page = fields.finish_page::<UsageOrder>()?;
        Ok::<_, ApiError>((group_by.unwrap_or(DEFAULT_GROUP_BY), filter, page))
    });
    let (from, to, problems, view) = match read {
        Ok((group_by, mut filter, page)) => {
            let (from, to) = period(&query, &mut filter, &state);
            let actor = &session.principal;
            let totals = state.usage.summarize(actor, filter, Some(group_by)).await?;
            let found = state.usage.list(actor, filter, page).await?;
            let view = EveryonesView {
                summary: Summary::of(group_by, &filter, totals),
                records: Records::of(&request, found, &page, true),
            };
            (from, to, Problems::none(), Some(view))
        }
        Err(error) => {
            let mut names: Vec<&str> = ID_FILTERS.iter().map(|(name, _)| *name).collect();
            names.extend(["group_by", "from", "to"]);
            (
                query.raw("from").to_owned(),
                query.raw("to").to_owned(),
                Problems::of(error, &names),
                None,
            )
        }
    };
    let group_by = match query.raw("group_by") {
        "" => DEFAULT_GROUP_BY.as_str(),
        word => word,
    };
    let mut filters = vec![
        Field::new("select", "group_by", "Group by")
            .options(
                UsageGroupBy::ALL
                    .iter()
                    .map(|group| Choice::new(group.as_str(), group_label(*group), group_by))
                    .collect(),
            )
            .problems(&problems),
    ];
    filters.extend(ID_FILTERS.iter().map(|(name, label)| {
        Field::new("number", name, label)
            .value(query.raw(name))
            .problems(&problems)
    }));
    filters.extend(date_fields(&from, &to, &problems));
    let status = problems.status;
    let ctx = session.context;
    let page = EveryonesPage {
        ctx: ctx.clone(),
        filters,
        problems,
        view,
        max_days: MAX_DAYS,
    };
    page::render(&ctx, status, &page)
}
