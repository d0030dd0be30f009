//! The list envelope shared by every collection.

use gatehouse_domain::{Direction, Page, PageRequest};
use serde::Serialize;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// One page of a collection: `{"object": "list", "data", "total", "offset", "limit"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T> {
    /// Always `list`.
    #[schema(value_type = String, example = "list")]
    pub object: &'static str,
    /// The items of this page.
    pub data: Vec<T>,
    /// How many items the whole collection (with its filters) holds.
    pub total: i64,
    /// How many items were skipped.
    pub offset: i64,
    /// The page size asked for.
    pub limit: i64,
}

impl<T> ListResponse<T> {
    /// The envelope of `page`, asked for with `request`, each item converted with `convert`.
    pub fn new<U, O>(page: Page<U>, request: &PageRequest<O>, convert: impl FnMut(U) -> T) -> Self {
        Self {
            object: "list",
            data: page.items.into_iter().map(convert).collect(),
            total: page.total,
            offset: request.offset(),
            limit: request.limit(),
        }
    }
}

/// Declares, for each list, the schema of its `order_by` parameter: one of its order field's words,
/// the first the default; anything else is 422.
macro_rules! order_by {
    ($($name:ident => $order:ty),* $(,)?) => {
        $(
            #[doc = concat!("The `order_by` parameter of a list ordered by [`", stringify!($order), "`].")]
            pub struct $name;

            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    let words: Vec<&str> = <$order>::ALL.iter().map(|field| field.as_str()).collect();
                    super::schema::one_of_words(&words)
                }
            }

            impl ToSchema for $name {}
        )*
    };
}

order_by!(
    OrganizationOrderBy => gatehouse_domain::OrganizationOrder,
    UserOrderBy => gatehouse_domain::UserOrder,
    RoleOrderBy => gatehouse_domain::RoleOrder,
    ProjectOrderBy => gatehouse_domain::ProjectOrder,
    MemberOrderBy => gatehouse_domain::MemberOrder,
    ApiKeyOrderBy => gatehouse_domain::ApiKeyOrder,
    UsageOrderBy => gatehouse_domain::UsageOrder,
    AuditOrderBy => gatehouse_domain::AuditOrder,
);

/// The schema of a usage summary's `group_by` parameter: one of its words, no default (without
/// it, one group totals everything).
pub struct UsageGroupByWord;

impl PartialSchema for UsageGroupByWord {
    fn schema() -> RefOr<Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::new(
                utoipa::openapi::schema::Type::String,
            ))
            .enum_values(Some(
                gatehouse_domain::UsageGroupBy::ALL
                    .iter()
                    .map(|group| group.as_str()),
            ))
            .into()
    }
}

impl ToSchema for UsageGroupByWord {}

/// The schema of the `order_direction` parameter: `asc` (the default) or `desc`.
pub struct OrderDirection;

impl PartialSchema for OrderDirection {
    fn schema() -> RefOr<Schema> {
        super::schema::one_of_words(&[Direction::Asc.as_str(), Direction::Desc.as_str()])
    }
}

impl ToSchema for OrderDirection {}
