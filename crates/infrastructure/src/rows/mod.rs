//! Diesel rows: what is read from and written to each table group, and the conversions to and from
//! the domain's types. Reading a row re-parses it through the domain's constructors, so that data
//! changed behind Gatehouse's back surfaces as an error, never as an invalid value.

pub(crate) mod api_keys;
pub(crate) mod organizations;
pub(crate) mod roles;
pub(crate) mod users;
