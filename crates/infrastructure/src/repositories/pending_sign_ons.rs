//! [`PendingSignOns`] on PostgreSQL: the table `pending_sign_ons`, one row per sign-in sent to the
//! provider, keyed by the SHA-256 of its `state`.

use async_trait::async_trait;
use diesel::prelude::*;
use gatehouse_domain::{
    DateTime, DomainError, LocalRedirect, PendingSignOn, PendingSignOns, Secret, Utc,
};
use sha2::{Digest, Sha256};

use crate::db::{PgPool, run_blocking};
use crate::error::on_query;
use crate::schema::pending_sign_ons;

/// The sign-ins under way, shared by every instance on one database.
#[derive(Debug, Clone)]
pub struct PgPendingSignOns {
    pool: PgPool,
}

impl PgPendingSignOns {
    /// An adapter over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// What a `state` is stored under: a reader of the table cannot finish a sign-in with it.
fn digest(state: &Secret) -> Vec<u8> {
    Sha256::digest(state.expose().as_bytes()).to_vec()
}

#[async_trait]
impl PendingSignOns for PgPendingSignOns {
    async fn save(
        &self,
        state: Secret,
        pending: PendingSignOn,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let digest = digest(&state);
        run_blocking(&self.pool, move |conn| {
            diesel::delete(pending_sign_ons::table.filter(pending_sign_ons::expires.le(now)))
                .execute(conn)
                .map_err(on_query)?;
            diesel::insert_into(pending_sign_ons::table)
                .values((
                    pending_sign_ons::state_digest.eq(digest),
                    pending_sign_ons::nonce.eq(pending.nonce.expose()),
                    pending_sign_ons::verifier.eq(pending.verifier.expose()),
                    pending_sign_ons::redirect.eq(pending.redirect.as_str()),
                    pending_sign_ons::expires.eq(pending.expires),
                ))
                .execute(conn)
                .map(drop)
                .map_err(on_query)
        })
        .await
    }

    async fn take(&self, state: Secret) -> Result<Option<PendingSignOn>, DomainError> {
        let digest = digest(&state);
        // One statement: of two callbacks racing with the same state, one gets the row.
        let row = run_blocking(&self.pool, move |conn| {
            diesel::delete(pending_sign_ons::table.find(digest))
                .returning((
                    pending_sign_ons::nonce,
                    pending_sign_ons::verifier,
                    pending_sign_ons::redirect,
                    pending_sign_ons::expires,
                ))
                .get_result::<(String, String, String, DateTime<Utc>)>(conn)
                .optional()
                .map_err(on_query)
        })
        .await?;
        row.map(|(nonce, verifier, redirect, expires)| {
            let redirect = LocalRedirect::parse(&redirect).map_err(|()| {
                DomainError::unexpected(format!("a stored redirect is not local: {redirect:?}"))
            })?;
            Ok(PendingSignOn {
                nonce: Secret::new(nonce),
                verifier: Secret::new(verifier),
                redirect,
                expires,
            })
        })
        .transpose()
    }
}
