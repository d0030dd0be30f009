//! The Gatehouse server: configuration, telemetry, wiring and the commands of the `gatehouse`
//! binary. A library too, so that the black-box tests start the very same application.

pub mod admin;
pub mod config;
pub mod pool_metrics;
pub mod silence;
pub mod startup;
pub mod telemetry;

pub use startup::{Application, StartupError};
