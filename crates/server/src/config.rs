//! Configuration: flags and environment variables, checked at start-up so that a wrong setting is
//! named before anything runs.

// The doc comments of the settings are their `--help` text, read as typed: no Markdown.
#![allow(clippy::doc_markdown)]

use std::fmt;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};

use clap::{Args, Parser, Subcommand, ValueEnum};
use gatehouse_api::TrustedProxies;
use gatehouse_application::{LoginLimits, Retention};
use gatehouse_domain::{OrganizationId, RoleId, Secret, SignOnPolicy};
use gatehouse_infrastructure::oidc::OidcSettings;

/// Gatehouse: organizations, users, roles and API keys for OpenGateLLM.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log settings.
    #[command(flatten)]
    pub log: LogSettings,
}

/// The commands of the `gatehouse` binary.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Applies pending migrations, then serves the API.
    Serve(Box<ServeSettings>),
    /// Applies pending migrations and exits.
    Migrate(DatabaseSettings),
    /// Creates a user with the `admin` role (creating the role if needed): the way to bootstrap
    /// without the master key.
    CreateAdmin(CreateAdminSettings),
}

/// Where the database is.
#[derive(Args, Clone)]
pub struct DatabaseSettings {
    /// PostgreSQL URL, e.g. postgres://user:password@localhost:5432/gatehouse.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Most connections the pool opens, 1 to 1000.
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_POOL_SIZE)))]
    pub database_pool_size: u32,
    /// Longest a database statement may run, in seconds (1 to 3600); PostgreSQL cancels it
    /// then, and the request answers 503, so that a stuck query cannot hold a connection.
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT", default_value = "30", value_parser = non_zero_u32(MAX_STATEMENT_TIMEOUT_SECS))]
    pub database_statement_timeout: NonZeroU32,
}

/// The longest statement timeout: an hour.
const MAX_STATEMENT_TIMEOUT_SECS: u32 = 3600;

impl DatabaseSettings {
    /// The statement timeout, as the pool takes it.
    pub fn statement_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.database_statement_timeout.get().into())
    }
}

impl fmt::Debug for DatabaseSettings {
    /// The URL may carry a password: it is left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("database_url", &"[REDACTED]")
            .field("database_pool_size", &self.database_pool_size)
            .field(
                "database_statement_timeout",
                &self.database_statement_timeout,
            )
            .finish()
    }
}

/// Settings of `gatehouse serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeSettings {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// The master key: acts as user 0 with every permission. At least 16 characters.
    #[arg(long, env = "MASTER_KEY", hide_env_values = true, value_parser = master_key)]
    pub master_key: Secret,
    /// Address and port to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8000")]
    pub listen_addr: SocketAddr,
    /// Longest lifetime of an API key, in days (1 to 36500); keys without expiry get it. Unset: no
    /// limit.
    #[arg(long, env = "KEY_MAX_EXPIRATION_DAYS", value_parser = non_zero_u32(MAX_KEY_EXPIRATION_DAYS))]
    pub key_max_expiration_days: Option<NonZeroU32>,
    /// Lifetime of a login session key, in seconds (1 to 31536000, a year).
    #[arg(long, env = "SESSION_DURATION", default_value = "3600", value_parser = non_zero_u32(MAX_SESSION_DURATION_SECS))]
    pub session_duration: NonZeroU32,
    /// HTTP worker threads, 1 to 1024. Unset: half the cores, at least one.
    #[arg(long, env = "HTTP_WORKERS", value_parser = non_zero_usize(MAX_HTTP_WORKERS))]
    pub http_workers: Option<NonZeroUsize>,
    /// Failed logins allowed for one email (known or not, any letter case) within 15 minutes;
    /// then its logins are refused (429) until the 15 minutes are over. At least 1.
    #[arg(long, env = "LOGIN_MAX_FAILURES", default_value_t = LoginLimits::DEFAULT_PER_EMAIL, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_max_failures: u32,
    /// Failed logins allowed from one client address within 15 minutes; then its logins are
    /// refused (429) until the 15 minutes are over. At least 1.
    #[arg(long, env = "LOGIN_MAX_FAILURES_PER_ADDRESS", default_value_t = LoginLimits::DEFAULT_PER_ADDRESS, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_max_failures_per_address: u32,
    /// Proxies whose X-Forwarded-For header tells the client address: IP addresses or CIDR
    /// networks, separated by commas. Empty: the TCP peer is the client.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", value_parser = TrustedProxies::parse)]
    pub trusted_proxies: TrustedProxies,
    /// Days audit events are kept, 1 to 36500; older ones are deleted once a day.
    #[arg(long, env = "AUDIT_RETENTION_DAYS", default_value_t = Retention::DEFAULT_DAYS, value_parser = non_zero_u32(MAX_AUDIT_RETENTION_DAYS))]
    pub audit_retention_days: NonZeroU32,
    /// The server's address as people reach it (`https://gatehouse.example.com`). With https,
    /// the web console's cookies are `Secure`. Unset: the console works over plain http.
    #[arg(long, env = "PUBLIC_URL", value_parser = public_url)]
    pub public_url: Option<String>,
    /// Most key grants each instance keeps in memory (0: none, every request reads its key's
    /// grant from the database). A grant is dropped by any change that may alter it, on every
    /// instance within a second (PostgreSQL LISTEN/NOTIFY), and never served while the instance
    /// cannot hear those changes.
    #[arg(long, env = "GRANT_CACHE_SIZE", default_value_t = DEFAULT_GRANT_CACHE_SIZE)]
    pub grant_cache_size: u64,
    /// The PostgreSQL URL the grant cache LISTENs on, when DATABASE_URL goes through a pooler
    /// that cannot LISTEN (PgBouncer in transaction mode): the database itself. Unset:
    /// DATABASE_URL.
    #[arg(long, env = "GRANT_LISTEN_URL", hide_env_values = true)]
    pub grant_listen_url: Option<String>,
    /// Longest time a cached grant is kept, in seconds (1 to 86400): a second safety beside the
    /// notifications.
    #[arg(long, env = "GRANT_CACHE_TTL", default_value = "60", value_parser = non_zero_u32(MAX_GRANT_CACHE_TTL_SECS))]
    pub grant_cache_ttl: NonZeroU32,
    /// Single sign-on.
    #[command(flatten)]
    pub sso: SsoSettings,
}

/// Grants kept by default: a few megabytes, and more keys than most deployments have in use.
pub const DEFAULT_GRANT_CACHE_SIZE: u64 = 100_000;

/// The longest time to live of a cached grant: a day.
const MAX_GRANT_CACHE_TTL_SECS: u32 = 86_400;

impl ServeSettings {
    /// The HTTP workers to run. Requests spend their time on the database, not on HTTP (one worker
    /// answers tens of thousands of requests per second without a query), so half the cores are
    /// plenty and leave the rest to the queries; each worker also has its own event loop and
    /// Argon2 threads, so fewer workers mean fewer threads and less memory.
    pub fn workers(&self) -> usize {
        self.http_workers.map_or_else(
            || {
                let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
                (cores / 2).max(1)
            },
            NonZeroUsize::get,
        )
    }
}

impl ServeSettings {
    /// The failed logins allowed.
    ///
    /// # Errors
    /// When a limit is zero, which the command line refuses already.
    pub fn login_limits(&self) -> Result<LoginLimits, String> {
        let at_least_one = |value: u32, name: &str| {
            NonZeroU32::new(value).ok_or_else(|| format!("{name} must be at least 1"))
        };
        Ok(LoginLimits {
            per_email: at_least_one(self.login_max_failures, "LOGIN_MAX_FAILURES")?,
            per_address: at_least_one(
                self.login_max_failures_per_address,
                "LOGIN_MAX_FAILURES_PER_ADDRESS",
            )?,
        })
    }
}

/// Single sign-on with an OpenID Connect provider: on when the issuer, the client id and the
/// client secret are set, all three.
#[derive(Debug, Args, Clone)]
pub struct SsoSettings {
    /// The OpenID provider's issuer URL (its discovery document is at
    /// <issuer>/.well-known/openid-configuration). Turns single sign-on on, with
    /// OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and PUBLIC_URL.
    #[arg(long, env = "OIDC_ISSUER_URL")]
    pub oidc_issuer_url: Option<String>,
    /// This server's client id at the provider.
    #[arg(long, env = "OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// This server's client secret at the provider.
    #[arg(long, env = "OIDC_CLIENT_SECRET", hide_env_values = true, value_parser = secret)]
    pub oidc_client_secret: Option<Secret>,
    /// The scopes asked for, separated by spaces; openid is always asked.
    #[arg(long, env = "OIDC_SCOPES", default_value = DEFAULT_OIDC_SCOPES)]
    pub oidc_scopes: String,
    /// The role id of the users sign-on creates. Unset: people without an account are refused.
    #[arg(long, env = "OIDC_DEFAULT_ROLE")]
    pub oidc_default_role: Option<i64>,
    /// The organization id of the users sign-on creates. Unset: none.
    #[arg(long, env = "OIDC_DEFAULT_ORGANIZATION")]
    pub oidc_default_organization: Option<i64>,
    /// The email domains allowed to sign on, separated by commas (example.org,acme.fr); a
    /// subdomain is another domain. Empty: any.
    #[arg(long, env = "OIDC_ALLOWED_EMAIL_DOMAINS", default_value = "", value_parser = email_domains)]
    pub oidc_allowed_email_domains: EmailDomains,
}

/// Sign-on off, as with no OIDC setting at all.
impl Default for SsoSettings {
    fn default() -> Self {
        Self {
            oidc_issuer_url: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_scopes: DEFAULT_OIDC_SCOPES.to_owned(),
            oidc_default_role: None,
            oidc_default_organization: None,
            oidc_allowed_email_domains: EmailDomains::default(),
        }
    }
}

/// The scopes asked for when OIDC_SCOPES is not set.
pub const DEFAULT_OIDC_SCOPES: &str = "openid email profile";

/// The path of the sign-on callback, which the provider must allow as a redirect URI after
/// `PUBLIC_URL`.
pub const OIDC_CALLBACK_PATH: &str = "/v1/auth/oidc/callback";

/// Email domains, in lower case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailDomains(pub Vec<String>);

/// Single sign-on as configured: the provider's client and the policy of who may sign in.
#[derive(Debug, Clone)]
pub struct SignOnConfig {
    /// The client of the provider.
    pub provider: OidcSettings,
    /// Who may sign in, and what the accounts it creates get.
    pub policy: SignOnPolicy,
}

impl SsoSettings {
    /// Sign-on as configured, `None` when it is off, checked whole: half a configuration is an
    /// error, not a sign-on that fails later.
    ///
    /// # Errors
    /// When some of the issuer, client id and secret are set but not all, when sign-on is on
    /// without `public_url`, and when other OIDC settings are set with sign-on off.
    pub fn sign_on(&self, public_url: Option<&str>) -> Result<Option<SignOnConfig>, String> {
        let required = [
            ("OIDC_ISSUER_URL", self.oidc_issuer_url.is_some()),
            ("OIDC_CLIENT_ID", self.oidc_client_id.is_some()),
            ("OIDC_CLIENT_SECRET", self.oidc_client_secret.is_some()),
        ];
        let (Some(issuer), Some(client_id), Some(client_secret)) = (
            self.oidc_issuer_url.as_deref(),
            self.oidc_client_id.as_deref(),
            self.oidc_client_secret.as_ref(),
        ) else {
            let set: Vec<&str> = required
                .iter()
                .filter(|(_, set)| *set)
                .map(|(name, _)| *name)
                .collect();
            if !set.is_empty() {
                let missing: Vec<&str> = required
                    .iter()
                    .filter(|(_, set)| !*set)
                    .map(|(name, _)| *name)
                    .collect();
                return Err(format!(
                    "single sign-on is half configured: {} set, {} missing",
                    set.join(" and "),
                    missing.join(" and ")
                ));
            }
            let extra = [
                ("OIDC_DEFAULT_ROLE", self.oidc_default_role.is_some()),
                (
                    "OIDC_DEFAULT_ORGANIZATION",
                    self.oidc_default_organization.is_some(),
                ),
                (
                    "OIDC_ALLOWED_EMAIL_DOMAINS",
                    !self.oidc_allowed_email_domains.0.is_empty(),
                ),
                ("OIDC_SCOPES", self.oidc_scopes != DEFAULT_OIDC_SCOPES),
            ];
            if let Some((name, _)) = extra.iter().find(|(_, set)| *set) {
                return Err(format!(
                    "{name} is set but single sign-on is off: set OIDC_ISSUER_URL, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET too, or unset it"
                ));
            }
            return Ok(None);
        };
        let public_url = public_url.ok_or(
            "single sign-on needs PUBLIC_URL, the server's address as people reach it: the provider sends them back to PUBLIC_URL/v1/auth/oidc/callback",
        )?;
        Ok(Some(SignOnConfig {
            provider: OidcSettings {
                issuer: issuer.to_owned(),
                client_id: client_id.to_owned(),
                client_secret: client_secret.clone(),
                redirect_url: format!("{public_url}{OIDC_CALLBACK_PATH}"),
                scopes: self
                    .oidc_scopes
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            },
            policy: SignOnPolicy {
                default_role: self.oidc_default_role.map(RoleId),
                default_organization: self.oidc_default_organization.map(OrganizationId),
                allowed_email_domains: self.oidc_allowed_email_domains.0.clone(),
            },
        }))
    }
}

/// Comma-separated email domains, trimmed and in lower case; each a host name.
fn email_domains(raw: &str) -> Result<EmailDomains, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|domain| !domain.is_empty())
        .map(|domain| {
            let valid = domain.contains('.')
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && !domain.starts_with(['.', '-'])
                && !domain.ends_with(['.', '-']);
            if valid {
                Ok(domain.to_ascii_lowercase())
            } else {
                Err(format!(
                    "{domain:?} is not an email domain (e.g. example.org)"
                ))
            }
        })
        .collect::<Result<_, _>>()
        .map(EmailDomains)
}

fn secret(raw: &str) -> Result<Secret, String> {
    if raw.is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(Secret::new(raw))
}

/// Settings of `gatehouse create-admin`.
#[derive(Debug, Args, Clone)]
pub struct CreateAdminSettings {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseSettings,
    /// Email address of the new admin.
    #[arg(long)]
    pub email: String,
    /// Password of the new admin, 8 to 128 characters.
    #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
    pub password: Secret,
    /// Display name of the new admin.
    #[arg(long)]
    pub name: Option<String>,
}

/// How logs are written.
#[derive(Debug, Args, Clone)]
pub struct LogSettings {
    /// `text` for people, `json` for log collectors. Levels come from RUST_LOG (default: info).
    #[arg(long, env = "LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,
}

/// A log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// Shortest master key accepted.
pub const MASTER_KEY_MIN_CHARS: usize = 16;

/// Most connections `DATABASE_POOL_SIZE` may ask for. The pool runs a thread per connection, and
/// PostgreSQL serves a few hundred connections at most: beyond this, a value is a typo.
pub const MAX_POOL_SIZE: u32 = 1000;

/// Longest `KEY_MAX_EXPIRATION_DAYS`: a century. Nothing needs more, and it keeps the expiry of
/// any key created now far inside the dates chrono and PostgreSQL represent (chrono's end at year
/// 262143 is some 95 million days away).
pub const MAX_KEY_EXPIRATION_DAYS: u32 = 36_500;

/// Longest `SESSION_DURATION`: a year, in seconds. A login session is for a person at a
/// keyboard; longer-lived keys are API keys, which can be deleted one by one.
pub const MAX_SESSION_DURATION_SECS: u32 = 31_536_000;

/// Longest `AUDIT_RETENTION_DAYS`: a century, as for keys. It keeps the purge's cutoff far inside
/// the dates chrono and PostgreSQL represent.
pub const MAX_AUDIT_RETENTION_DAYS: u32 = 36_500;

/// Most `HTTP_WORKERS`. Each worker is a thread with its own event loop and Argon2 threads; no
/// machine needs more, and a larger number would exhaust memory before serving anything.
pub const MAX_HTTP_WORKERS: u16 = 1024;

/// A parser of a whole number from 1 to `max`; clap's error names the setting, its flag and
/// variable, and the range.
fn non_zero_u32(max: u32) -> impl clap::builder::TypedValueParser<Value = NonZeroU32> {
    use clap::builder::TypedValueParser;
    clap::value_parser!(u32)
        .range(1..=i64::from(max))
        .try_map(NonZeroU32::try_from)
}

/// As [`non_zero_u32`], for a count of threads.
fn non_zero_usize(max: u16) -> impl clap::builder::TypedValueParser<Value = NonZeroUsize> {
    use clap::builder::TypedValueParser;
    clap::value_parser!(u16)
        .range(1..=i64::from(max))
        .try_map(|n| NonZeroUsize::try_from(usize::from(n)))
}

/// An http or https address with a host, without a trailing slash.
fn public_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    if host.is_empty() || host.starts_with('/') || host.chars().any(char::is_whitespace) {
        return Err("must name a host, e.g. https://gatehouse.example.com".to_owned());
    }
    Ok(url.to_owned())
}

fn master_key(raw: &str) -> Result<Secret, String> {
    if raw.chars().count() < MASTER_KEY_MIN_CHARS {
        return Err(format!(
            "the master key must have at least {MASTER_KEY_MIN_CHARS} characters"
        ));
    }
    Ok(Secret::new(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("gatehouse").chain(args.iter().copied()))
    }

    /// The settings of `serve` with the required ones and `extra`.
    fn serve(extra: &[&str]) -> Result<ServeSettings, clap::Error> {
        let mut args = vec![
            "serve",
            "--database-url",
            "postgres://x/y",
            "--master-key",
            "0123456789abcdef",
        ];
        args.extend_from_slice(extra);
        parse(&args).map(|cli| match cli.command {
            Command::Serve(settings) => *settings,
            _ => panic!("not serve"),
        })
    }

    #[test]
    fn serve_has_working_defaults() {
        let cli = parse(&[
            "serve",
            "--database-url",
            "postgres://localhost/gatehouse",
            "--master-key",
            "0123456789abcdef",
        ])
        .unwrap();
        let Command::Serve(settings) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(settings.listen_addr.to_string(), "127.0.0.1:8000");
        assert_eq!(settings.database.database_pool_size, 10);
        assert_eq!(settings.key_max_expiration_days, None);
        assert_eq!(settings.session_duration.get(), 3600);
        assert_eq!(settings.audit_retention_days, Retention::DEFAULT_DAYS);
        assert_eq!(cli.log.log_format, LogFormat::Text);
    }

    #[test]
    fn a_short_master_key_is_refused_at_start_up_and_named() {
        let error = parse(&[
            "serve",
            "--database-url",
            "postgres://localhost/gatehouse",
            "--master-key",
            "too-short",
        ])
        .unwrap_err()
        .to_string();
        assert!(error.contains("master-key"), "{error}");
        assert!(error.contains("at least 16 characters"), "{error}");
        assert!(!error.contains("too-short\n"), "{error}");
    }

    #[test]
    fn a_zero_key_lifetime_or_pool_size_is_refused() {
        assert!(serve(&["--key-max-expiration-days", "0"]).is_err());
        assert!(serve(&["--database-pool-size", "0"]).is_err());
        assert!(serve(&["--http-workers", "0"]).is_err());
        assert!(serve(&["--audit-retention-days", "0"]).is_err());
        assert!(serve(&["--key-max-expiration-days", "30"]).is_ok());
    }

    #[test]
    fn login_limits_default_to_5_and_50_and_must_be_at_least_1() {
        let limits = serve(&[]).unwrap().login_limits().unwrap();
        assert_eq!(limits.per_email.get(), 5);
        assert_eq!(limits.per_address.get(), 50);
        let limits = serve(&[
            "--login-max-failures",
            "3",
            "--login-max-failures-per-address",
            "1",
        ])
        .unwrap()
        .login_limits()
        .unwrap();
        assert_eq!((limits.per_email.get(), limits.per_address.get()), (3, 1));
        for flag in ["--login-max-failures", "--login-max-failures-per-address"] {
            for value in ["0", "-1", "five"] {
                let error = serve(&[&format!("{flag}={value}")])
                    .unwrap_err()
                    .to_string();
                assert!(error.contains(flag), "{error}");
            }
        }
        let mut settings = serve(&[]).unwrap();
        settings.login_max_failures_per_address = 0;
        let error = settings.login_limits().unwrap_err();
        assert!(error.contains("LOGIN_MAX_FAILURES_PER_ADDRESS"), "{error}");
    }

    #[test]
    fn the_public_url_is_an_http_or_https_address_with_a_host() {
        assert_eq!(serve(&[]).unwrap().public_url, None);
        assert_eq!(
            serve(&["--public-url", "https://gatehouse.example.com/"])
                .unwrap()
                .public_url
                .as_deref(),
            Some("https://gatehouse.example.com")
        );
        for wrong in [
            "gatehouse.example.com",
            "ftp://host",
            "https://",
            "https:///path",
        ] {
            let error = serve(&["--public-url", wrong]).unwrap_err().to_string();
            assert!(error.contains("--public-url"), "{wrong}: {error}");
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks_and_none_by_default() {
        assert_eq!(
            serve(&[]).unwrap().trusted_proxies,
            TrustedProxies::default()
        );
        assert_eq!(
            serve(&["--trusted-proxies", "127.0.0.1, 10.0.0.0/8"])
                .unwrap()
                .trusted_proxies,
            TrustedProxies::parse("127.0.0.1,10.0.0.0/8").unwrap()
        );
        let error = serve(&["--trusted-proxies", "127.0.0.1,proxy.local"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("trusted-proxies"), "{error}");
        assert!(error.contains("proxy.local"), "{error}");
    }

    #[test]
    fn every_bounded_setting_takes_its_maximum_and_names_itself_and_its_range_beyond() {
        let with = |flag: &str, value: String| serve(&[flag, &value]);
        let bounded = [
            (
                "--database-pool-size",
                "DATABASE_POOL_SIZE",
                u64::from(MAX_POOL_SIZE),
            ),
            (
                "--key-max-expiration-days",
                "KEY_MAX_EXPIRATION_DAYS",
                u64::from(MAX_KEY_EXPIRATION_DAYS),
            ),
            (
                "--session-duration",
                "SESSION_DURATION",
                u64::from(MAX_SESSION_DURATION_SECS),
            ),
            (
                "--http-workers",
                "HTTP_WORKERS",
                u64::from(MAX_HTTP_WORKERS),
            ),
            (
                "--audit-retention-days",
                "AUDIT_RETENTION_DAYS",
                u64::from(MAX_AUDIT_RETENTION_DAYS),
            ),
        ];
        for (flag, variable, max) in bounded {
            assert!(with(flag, max.to_string()).is_ok(), "{flag} {max}");
            let error = with(flag, (max + 1).to_string()).unwrap_err().to_string();
            assert!(error.contains(&format!("1..={max}")), "{error}");
            for beyond in [max + 1, u64::from(u32::MAX) + 1, u64::MAX] {
                let error = with(flag, beyond.to_string()).unwrap_err().to_string();
                assert!(error.contains(flag), "{error}");
                assert!(error.contains(variable), "{error}");
            }
            for wrong in ["0", "-1", "many"] {
                assert!(with(flag, wrong.to_owned()).is_err(), "{flag} {wrong}");
            }
        }
        let settings = with(
            "--key-max-expiration-days",
            MAX_KEY_EXPIRATION_DAYS.to_string(),
        )
        .unwrap();
        assert_eq!(
            settings.key_max_expiration_days.map(NonZeroU32::get),
            Some(MAX_KEY_EXPIRATION_DAYS)
        );
        let settings = with(
            "--audit-retention-days",
            MAX_AUDIT_RETENTION_DAYS.to_string(),
        )
        .unwrap();
        assert_eq!(
            settings.audit_retention_days.get(),
            MAX_AUDIT_RETENTION_DAYS
        );
        let settings = with("--http-workers", MAX_HTTP_WORKERS.to_string()).unwrap();
        assert_eq!(settings.workers(), usize::from(MAX_HTTP_WORKERS));
    }

    #[test]
    fn http_workers_default_to_half_the_cores_and_can_be_set() {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        assert_eq!(serve(&[]).unwrap().workers(), (cores / 2).max(1));
        assert_eq!(serve(&["--http-workers", "3"]).unwrap().workers(), 3);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let cli = parse(&[
            "serve",
            "--database-url",
            "postgres://user:hunter2@localhost/gatehouse",
            "--master-key",
            "0123456789abcdef-secret",
        ])
        .unwrap();
        let debug = format!("{cli:?}");
        assert!(!debug.contains("hunter2"));
        assert!(!debug.contains("0123456789abcdef-secret"));
    }

    fn sign_on(extra: &[&str]) -> Result<Option<SignOnConfig>, String> {
        let settings = serve(extra).map_err(|error| error.to_string())?;
        settings.sso.sign_on(settings.public_url.as_deref())
    }

    const SSO: [&str; 8] = [
        "--oidc-issuer-url",
        "https://id.example",
        "--oidc-client-id",
        "gatehouse",
        "--oidc-client-secret",
        "s3cret",
        "--public-url",
        "https://gatehouse.example/",
    ];

    #[test]
    fn sign_on_is_off_without_settings_and_on_with_the_three_and_a_public_url() {
        assert!(sign_on(&[]).unwrap().is_none());
        let config = sign_on(&SSO).unwrap().unwrap();
        assert_eq!(config.provider.issuer, "https://id.example");
        assert_eq!(config.provider.client_id, "gatehouse");
        assert_eq!(config.provider.client_secret.expose(), "s3cret");
        assert_eq!(
            config.provider.redirect_url,
            "https://gatehouse.example/v1/auth/oidc/callback"
        );
        assert_eq!(config.provider.scopes, ["openid", "email", "profile"]);
        assert_eq!(config.policy, SignOnPolicy::default());
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn sign_on_reads_its_policy() {
        let mut args = SSO.to_vec();
        args.extend([
            "--oidc-default-role",
            "3",
            "--oidc-default-organization",
            "5",
            "--oidc-allowed-email-domains",
            " Example.org, acme.fr ,",
            "--oidc-scopes",
            "openid email",
        ]);
        let config = sign_on(&args).unwrap().unwrap();
        assert_eq!(
            config.policy,
            SignOnPolicy {
                default_role: Some(RoleId(3)),
                default_organization: Some(OrganizationId(5)),
                allowed_email_domains: vec!["example.org".to_owned(), "acme.fr".to_owned()],
            }
        );
        assert_eq!(config.provider.scopes, ["openid", "email"]);
    }

    #[test]
    fn half_a_sign_on_configuration_is_named() {
        let error = sign_on(&SSO[..4]).unwrap_err();
        assert!(
            error.contains("OIDC_ISSUER_URL and OIDC_CLIENT_ID set, OIDC_CLIENT_SECRET missing"),
            "{error}"
        );
        let error = sign_on(&SSO[..6]).unwrap_err();
        assert!(error.contains("needs PUBLIC_URL"), "{error}");
        let error = sign_on(&["--oidc-default-role", "3"]).unwrap_err();
        assert!(
            error.contains("OIDC_DEFAULT_ROLE is set but single sign-on is off"),
            "{error}"
        );
        let error = sign_on(&["--oidc-allowed-email-domains", "not a domain"]).unwrap_err();
        assert!(error.contains("is not an email domain"), "{error}");
    }
}
