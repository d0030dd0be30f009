//! Reading requests into domain types, reporting every invalid field at once in FastAPI's shape.
//!
//! Bodies are read as JSON objects and each field is converted on its own, so that one bad field
//! does not hide the others (serde stops at the first). Values are then parsed into the domain's
//! value types, which hold the rules.

pub(crate) mod body;
mod fields;
mod path;
mod query;

pub use body::{BODY_READ_TIMEOUT, JsonObject, MAX_BODY_BYTES};
pub use fields::{Fields, FromJson};
pub use path::{PathId, PathIds};
pub use query::{QueryFields, RawQuery};
