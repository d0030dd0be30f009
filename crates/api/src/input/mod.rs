//! Reading requests into domain types, reporting every invalid field at once in FastAPI's shape.
//!
//! Bodies are read as JSON objects and each field is converted on its own, so that one bad field
//! does not hide the others (serde stops at the first). Values are then parsed into the domain's
//! value types, which hold the rules. Each body is one table of fields (`request_body!`), from
//! which both its parser and its OpenAPI schema are made.

pub(crate) mod body;
mod fields;
mod kinds;
mod path;
mod presence;
mod query;
mod request_body;

pub use body::{BODY_READ_TIMEOUT, JsonObject, MAX_BODY_BYTES};
pub use fields::{Fields, FromJson};
pub use kinds::{
    AtLeast, Components, FieldKind, Id, SecretText, Text, component, integer, reference,
};
pub use path::{PathId, PathIds};
pub use presence::{Nullable, Optional, Presence, Required};
pub use query::{QueryFields, RawQuery};
pub use request_body::BodySchema;
pub(crate) use request_body::request_body;
