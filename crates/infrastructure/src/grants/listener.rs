//! Hearing the changes other instances make: a connection of its own that `LISTEN`s on
//! [`GRANT_CHANNEL`]. With tokio-postgres rather than the pool's diesel, because waiting for a
//! notification (and learning at once that the connection is gone) needs the socket in an event
//! loop, which diesel does not give.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_postgres::{AsyncMessage, Config, NoTls};

use super::changes::{GRANT_CHANNEL, GrantChanges};

/// The name the listening connection shows in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "gatehouse-grant-listener";

/// How long to wait before connecting again, first and at most: short, since the cache is
/// bypassed meanwhile (every request reads its grant from the database).
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MOST: Duration = Duration::from_secs(5);

/// How often the listening connection proves it is alive (a `SELECT 1` on it), and for how long
/// each proof lets cached grants be served. A connection cut without a word (a network
/// partition, a frozen server) stops the cache within `TRUST_FOR` instead of leaving it trusted
/// until the kernel gives up on the socket; a change made meanwhile elsewhere is then seen within
/// that time too, well inside the second the contract allows.
const PROVE_EVERY: Duration = Duration::from_millis(100);
const TRUST_FOR: Duration = Duration::from_millis(300);

/// Listens for grant changes on the database of `url` for ever: each notification moves
/// `changes`' epoch; `changes` is marked listening while the connection is up, trusted for a
/// while after each proof that it still answers, and not listening as soon as it is lost, then
/// the connection is made again.
pub async fn listen(url: String, changes: Arc<GrantChanges>) {
    let config = match url.parse::<Config>() {
        Ok(mut config) => {
            config.application_name(LISTENER_NAME);
            config
        }
        Err(error) => {
            tracing::warn!(%error, "the grant cache is off: DATABASE_URL cannot be read for LISTEN");
            return;
        }
    };
    let mut retry = RETRY_FIRST;
    loop {
        match session(&config, &changes).await {
            Ok(()) => retry = RETRY_FIRST,
            Err(error) => {
                tracing::warn!(%error, "not listening for grant changes; the grant cache is bypassed until it is");
            }
        }
        changes.set_listening(false);
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_MOST);
    }
}

/// One connection: `LISTEN`, then every notification until the connection ends. Returns `Ok`
/// when it ended after listening (the retry starts short again), `Err` when it could not listen.
async fn session(
    config: &Config,
    changes: &Arc<GrantChanges>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let heard = Arc::clone(changes);
    // The connection's messages are read by a task of their own: notifications move the epoch
    // the moment they arrive, and the end of the connection ends the task.
    let driver = tokio::spawn(async move {
        while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(_)) => heard.changed(),
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "the grant listener's connection failed");
                    break;
                }
            }
        }
        // At once, not when the session below notices: from now on changes go unheard.
        heard.set_listening(false);
    });
    if let Err(error) = client
        .batch_execute(&format!("LISTEN {GRANT_CHANNEL}"))
        .await
    {
        driver.abort();
        return Err(error);
    }
    changes.set_listening(true);
    tracing::info!("listening for grant changes");
    let mut driver = driver;
    loop {
        let sent = Instant::now();
        tokio::select! {
            // The connection ended: the driver has marked the instance not listening.
            _ = &mut driver => break,
            proof = tokio::time::timeout(TRUST_FOR, client.simple_query("SELECT 1")) => {
                if proof.is_ok_and(|answer| answer.is_ok()) {
                    changes.alive_until(sent + TRUST_FOR);
                } else {
                    tracing::warn!("the grant listener's connection did not answer in time");
                    driver.abort();
                    break;
                }
            }
        }
        tokio::select! {
            _ = &mut driver => break,
            () = tokio::time::sleep(PROVE_EVERY) => {}
        }
    }
    drop(client);
    Ok(())
}
