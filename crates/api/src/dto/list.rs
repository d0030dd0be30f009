//! The list envelope shared by every collection.

use gatehouse_domain::{Page, PageRequest};
use serde::Serialize;
use utoipa::ToSchema;

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
