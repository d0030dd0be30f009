//! The `gatehouse` command: `serve`, `migrate`, `create-admin`.

use std::process::ExitCode;

use clap::Parser;
use gatehouse::admin::create_admin;
use gatehouse::config::{Cli, Command, DatabaseSettings};
use gatehouse::{Application, StartupError, telemetry};
use gatehouse_infrastructure::{DEFAULT_CONNECTION_TIMEOUT, PgPool, connect, run_migrations};

/// mimalloc gives freed memory back to the system: with glibc's allocator, memory freed on the
/// blocking threads stayed in per-thread arenas (with Argon2's blocks, then allocated per hash, the
/// process grew by about 6 MiB per password hashed until every arena held one).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log.log_format);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "gatehouse stopped");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), StartupError> {
    match command {
        Command::Serve(settings) => {
            // A wrong sign-on configuration is named before the database is touched.
            settings.sso.sign_on(settings.public_url.as_deref())?;
            let pool = migrated_pool(&settings.database)?;
            actix_web::rt::System::new().block_on(async move {
                let application = Application::build(&settings, pool)?;
                tracing::info!(address = %application.address(), "gatehouse is serving");
                application.run_until_stopped().await?;
                tracing::info!("gatehouse stopped gracefully");
                Ok(())
            })
        }
        Command::Migrate(database) => {
            migrated_pool(&database)?;
            Ok(())
        }
        Command::CreateAdmin(settings) => {
            let pool = migrated_pool(&settings.database)?;
            let user = actix_web::rt::System::new()
                .block_on(async move { create_admin(&pool, &settings).await })?;
            println!("created admin user {} ({})", user.id, user.email);
            Ok(())
        }
    }
}

/// A pool on the configured database, with every migration applied. The migrations run on a
/// connection of their own, without the statement timeout: one may take long on a large table.
fn migrated_pool(database: &DatabaseSettings) -> Result<PgPool, StartupError> {
    let migrating = connect(&database.database_url, 1, DEFAULT_CONNECTION_TIMEOUT, None)?;
    let applied = run_migrations(&migrating)
        .map_err(|error| format!("cannot migrate the database: {error}"))?;
    for migration in &applied {
        tracing::info!(%migration, "migration applied");
    }
    drop(migrating);
    Ok(connect(
        &database.database_url,
        database.database_pool_size,
        DEFAULT_CONNECTION_TIMEOUT,
        Some(database.statement_timeout()),
    )?)
}
