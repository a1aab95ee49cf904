use clap::{Args, Parser, Subcommand};
use leptos::config::LeptosOptions;
use std::net::SocketAddr;

/// Paylinks server. Every flag can also be given as the environment variable shown.
#[derive(Parser, Debug)]
#[command(name = "paylinks", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve the dashboard and the checkout pages (the default).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Seed a demo merchant and reviewer with a new random password (printed
    /// once), then exit. Only on a loopback PAYLINKS_PUBLIC_URL unless forced.
    Demo {
        /// Seed even though PAYLINKS_PUBLIC_URL is not a loopback address
        #[arg(long)]
        force: bool,
    },
    /// Recompute every link's sales statistics from its payments and compare;
    /// exits non-zero on any disagreement.
    Verify,
    /// Write a consistent copy of the SQLite database to PATH while the
    /// server keeps running (PostgreSQL: prints how to use pg_dump).
    Backup { path: std::path::PathBuf },
    /// Operator tasks: reviewers and live-mode applications.
    #[command(subcommand)]
    Admin(super::admin::AdminCommand),
}

#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Address to listen on [default: site-addr in Leptos.toml]
    #[arg(long, env = "PAYLINKS_BIND")]
    pub bind: Option<SocketAddr>,
    /// sqlite://PATH (embedded, the default) or postgres://… (several app servers)
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/paylinks.db")]
    pub database_url: String,
    /// Absolute base URL customers reach this server at, used in payment link URLs
    /// and QR codes [default: http://BIND]
    #[arg(long, env = "PAYLINKS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Your reverse proxies (addresses or networks, comma-separated, e.g.
    /// `127.0.0.1,10.0.0.0/8`): only from these is X-Forwarded-For believed,
    /// and the client is its rightmost hop that is not one of them
    #[arg(long, env = "PAYLINKS_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Sign-ups allowed per client address per hour
    #[arg(long, env = "PAYLINKS_SIGN_UP_LIMIT", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub sign_up_limit: u32,
    /// Checkout submits allowed per client address per minute (each may start
    /// a payment, and in live mode a KOMOJU session on the merchant's key)
    #[arg(long, env = "PAYLINKS_CHECKOUT_RATE_LIMIT", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub checkout_rate_limit: u32,
    /// Checkout submits allowed per payment link per minute, from all visitors
    #[arg(long, env = "PAYLINKS_CHECKOUT_LINK_RATE_LIMIT", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..))]
    pub checkout_link_rate_limit: u32,
    /// Result and return page lookups allowed per client address per minute
    #[arg(long, env = "PAYLINKS_LOOKUP_RATE_LIMIT", default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..))]
    pub lookup_rate_limit: u32,
    /// Minutes after which a KOMOJU webhook event (by its created_at) is
    /// refused as a possible replay
    #[arg(long, env = "PAYLINKS_KOMOJU_WEBHOOK_MAX_AGE_MINUTES", default_value_t = 3 * 24 * 60, value_parser = clap::value_parser!(i64).range(1..))]
    pub komoju_webhook_max_age_minutes: i64,
    /// Address of the Prometheus `/metrics` endpoint, kept off the public
    /// port; `off` serves none
    #[arg(long, env = "PAYLINKS_METRICS_BIND", default_value = "127.0.0.1:9464")]
    pub metrics_bind: String,
    /// Connections served at once; more wait in the listen queue
    #[arg(long, env = "PAYLINKS_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Seconds a client may take to send a request's headers (also how long an
    /// idle keep-alive connection stays open), and to send each part of its body
    #[arg(long, env = "PAYLINKS_REQUEST_TIMEOUT", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub request_timeout_secs: u64,
    /// Seconds between runs of the job that expires unfinished payment attempts
    #[arg(long, env = "PAYLINKS_EXPIRY_INTERVAL", default_value_t = 30)]
    pub expiry_interval_secs: u64,
    /// Server key sealing merchants' KOMOJU credentials: 64 hex characters.
    /// Every app server sharing a database needs the same one.
    #[arg(long, env = "PAYLINKS_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Where the server key is kept (created on first start) when
    /// PAYLINKS_SECRET_KEY is not given
    #[arg(long, env = "PAYLINKS_SECRET_KEY_FILE", default_value = "data/secret.key")]
    pub secret_key_file: std::path::PathBuf,
    /// KOMOJU's API base URL (a stub server in tests)
    #[arg(long, env = "PAYLINKS_KOMOJU_URL", default_value = super::komoju::DEFAULT_BASE_URL)]
    pub komoju_url: String,
    /// Requests per second each REST API key may make; more are answered 429
    #[arg(long, env = "PAYLINKS_API_RATE_LIMIT", default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..))]
    pub api_rate_limit: u32,
    /// Webhook deliveries this server sends at once; 0 sends none here (another server does)
    #[arg(long, env = "PAYLINKS_WEBHOOK_CONCURRENCY", default_value_t = 8)]
    pub webhook_concurrency: usize,
    /// Milliseconds before the first retry of a failed webhook delivery; each further retry waits twice as long (at most 4 h), for 24 h
    #[arg(long, env = "PAYLINKS_WEBHOOK_RETRY_BASE_MS", default_value_t = 30_000, value_parser = clap::value_parser!(i64).range(1..))]
    pub webhook_retry_base_ms: i64,
    /// Seconds a merchant's webhook endpoint may take to answer
    #[arg(long, env = "PAYLINKS_WEBHOOK_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub webhook_timeout_secs: u64,
    /// Let webhook endpoints point into this server's own network (localhost,
    /// private and link-local addresses); off by default so merchants cannot
    /// make the server call its neighbours
    #[arg(long, env = "PAYLINKS_WEBHOOK_ALLOW_PRIVATE_NETWORKS", default_value_t = false)]
    pub webhook_allow_private_networks: bool,
    /// Where email goes: `smtp://host:port` (plain, for local sinks),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:password@host:465` (TLS). Unset: each email is written to
    /// PAYLINKS_MAIL_DIR and shown in the dashboard's mailbox
    #[arg(long, env = "PAYLINKS_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender address of every email (its name is the merchant's)
    /// [default: no-reply@ the public URL's host]
    #[arg(long, env = "PAYLINKS_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Where emails are written when PAYLINKS_SMTP_URL is unset
    #[arg(long, env = "PAYLINKS_MAIL_DIR", default_value = "data/mail")]
    pub mail_dir: std::path::PathBuf,
    /// Milliseconds before the first retry of an email the mail server did not
    /// take; each further retry waits twice as long (at most 6 h), 12 tries in all
    #[arg(long, env = "PAYLINKS_EMAIL_RETRY_BASE_MS", default_value_t = 30_000, value_parser = clap::value_parser!(i64).range(1..))]
    pub email_retry_base_ms: i64,
}

/// Settled configuration: every value checked and every default applied.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    /// Where `/metrics` is served; `None`: nowhere.
    pub metrics_bind: Option<SocketAddr>,
    pub database_url: String,
    /// Without a trailing slash, e.g. `https://pay.example.com`.
    pub public_url: String,
    pub trusted_proxies: super::client_ip::TrustedProxies,
    pub sign_up_limit: u32,
    /// Per minute: checkout submits per address and per link, page lookups per address.
    pub checkout_rate: super::rate::Rate,
    pub checkout_link_rate: super::rate::Rate,
    pub lookup_rate: super::rate::Rate,
    pub komoju_webhook_max_age_ms: i64,
    pub max_connections: u32,
    pub request_timeout: std::time::Duration,
    /// 0 disables the job on this server (another one runs it).
    pub expiry_interval_secs: u64,
    pub secrets: super::secrets::SecretBox,
    pub komoju_url: String,
    /// Requests per second per API key.
    pub api_rate_limit: u32,
    pub webhooks: super::merchant_webhooks::Settings,
    pub email: std::sync::Arc<super::email::Settings>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("PAYLINKS_PUBLIC_URL must be an absolute http(s) URL without query or fragment, got {0:?}")]
    PublicUrl(String),
    #[error("PAYLINKS_KOMOJU_URL must be an absolute http(s) URL, got {0:?}")]
    KomojuUrl(String),
    #[error("server key: {0}")]
    SecretKey(String),
    #[error("PAYLINKS_TRUSTED_PROXIES: {0}")]
    TrustedProxies(String),
    #[error("PAYLINKS_MAIL_FROM must be an email address, got {0:?}")]
    MailFrom(String),
    #[error("PAYLINKS_METRICS_BIND must be an address such as 127.0.0.1:9464, or off; got {0:?}")]
    MetricsBind(String),
    #[error("PAYLINKS_SMTP_URL must start with smtp:// or smtps://")]
    SmtpUrl,
}

impl ConfigArgs {
    pub fn settle(self, leptos: &LeptosOptions) -> Result<Config, ConfigError> {
        let bind = self.bind.unwrap_or(leptos.site_addr);
        let public_url = match self.public_url {
            Some(url) => parse_public_url(&url)?,
            None => format!("http://{bind}"),
        };
        let komoju_url = parse_public_url(&self.komoju_url).map_err(|_| ConfigError::KomojuUrl(self.komoju_url.clone()))?;
        let secrets = match &self.secret_key {
            Some(key) => super::secrets::SecretBox::from_hex(key).map_err(|e| ConfigError::SecretKey(e.to_string()))?,
            None => super::secrets::SecretBox::load_or_create(&self.secret_key_file).map_err(|e| ConfigError::SecretKey(e.to_string()))?,
        };
        // A host name the mail world accepts (an IP address or `localhost` is not one).
        let host = url::Url::parse(&public_url).ok().and_then(|u| u.domain().map(str::to_owned)).filter(|d| d.contains('.'));
        let mail_domain = host.unwrap_or_else(|| "paylinks.localhost".to_owned());
        let from_address = self.mail_from.unwrap_or_else(|| format!("no-reply@{mail_domain}"));
        let Ok(from) = from_address.parse::<lettre::Address>() else {
            return Err(ConfigError::MailFrom(from_address));
        };
        if let Some(url) = &self.smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(ConfigError::SmtpUrl);
            }
        }
        let email = super::email::Settings {
            smtp_url: self.smtp_url.filter(|u| !u.is_empty()),
            mail_dir: self.mail_dir,
            from_address,
            // Message-IDs in the sender's domain, as mail servers expect.
            message_id_domain: from.domain().to_owned(),
            retry_base_ms: self.email_retry_base_ms,
        };
        let metrics_bind = match self.metrics_bind.trim() {
            "off" => None,
            addr => Some(addr.parse().map_err(|_| ConfigError::MetricsBind(self.metrics_bind.clone()))?),
        };
        Ok(Config {
            email: std::sync::Arc::new(email),
            bind,
            metrics_bind,
            database_url: self.database_url,
            public_url,
            trusted_proxies: super::client_ip::TrustedProxies::parse(&self.trusted_proxies).map_err(ConfigError::TrustedProxies)?,
            sign_up_limit: self.sign_up_limit,
            checkout_rate: super::rate::Rate::per_minute(self.checkout_rate_limit),
            checkout_link_rate: super::rate::Rate::per_minute(self.checkout_link_rate_limit),
            lookup_rate: super::rate::Rate::per_minute(self.lookup_rate_limit),
            komoju_webhook_max_age_ms: self.komoju_webhook_max_age_minutes * 60 * 1000,
            max_connections: self.max_connections,
            request_timeout: std::time::Duration::from_secs(self.request_timeout_secs),
            expiry_interval_secs: self.expiry_interval_secs,
            secrets,
            komoju_url,
            api_rate_limit: self.api_rate_limit,
            webhooks: super::merchant_webhooks::Settings {
                concurrency: self.webhook_concurrency,
                retry_base_ms: self.webhook_retry_base_ms,
                timeout: std::time::Duration::from_secs(self.webhook_timeout_secs),
                allow_private: self.webhook_allow_private_networks,
            },
        })
    }
}

fn parse_public_url(url: &str) -> Result<String, ConfigError> {
    let bad = || ConfigError::PublicUrl(url.to_owned());
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or_else(bad)?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || url.contains(['?', '#', ' ']) || super::csrf::SiteOrigin::parse(url).is_none() {
        return Err(bad());
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Leptos' runtime options: `Leptos.toml` (compiled in) overlaid with `LEPTOS_*`
/// variables; the output name and site layout come from the build (cargo-leptos).
pub fn leptos_options() -> anyhow::Result<LeptosOptions> {
    let build = leptos::config::get_config_from_env()?.leptos_options;
    // Leptos.toml holds one section; the output name is appended to it because
    // the parser insists on one, and its only source is the build.
    let runtime = format!("{}\noutput-name = {:?}\n", include_str!("../../Leptos.toml"), &*build.output_name);
    let mut options = leptos::config::get_config_from_str(&runtime)?;
    options.site_root = build.site_root;
    options.site_pkg_dir = build.site_pkg_dir;
    options.hash_files = build.hash_files;
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.env.example` is the self-hoster's list of settings: every variable
    /// a flag reads (the server's and the admin tasks') is in it.
    #[test]
    fn env_example_lists_every_setting() {
        use clap::CommandFactory;
        let example = include_str!("../../.env.example");
        let listed = |name: &str| example.lines().any(|l| l.trim_start_matches('#').starts_with(&format!("{name}=")));
        fn names(command: &clap::Command, out: &mut Vec<String>) {
            out.extend(command.get_arguments().filter_map(|a| a.get_env()).map(|e| e.to_string_lossy().into_owned()));
            command.get_subcommands().for_each(|c| names(c, out));
        }
        let mut all = vec!["PAYLINKS_LOG_FORMAT".to_owned(), "LEPTOS_SITE_ROOT".to_owned(), "RUST_LOG".to_owned()];
        names(&Cli::command(), &mut all);
        assert!(all.len() > 25, "{all:?}");
        let missing: Vec<_> = all.iter().filter(|n| !listed(n)).collect();
        assert!(missing.is_empty(), "not in .env.example: {missing:?}");
    }

    #[test]
    fn public_url_is_normalized() {
        assert_eq!(parse_public_url("https://pay.example.com/").unwrap(), "https://pay.example.com");
        assert_eq!(parse_public_url("http://127.0.0.1:3000").unwrap(), "http://127.0.0.1:3000");
        assert_eq!(parse_public_url("https://example.com/shop/").unwrap(), "https://example.com/shop");
    }

    #[test]
    fn public_url_rejects_junk() {
        for bad in ["", "example.com", "ftp://example.com", "https://", "https://x.com/?a=1", "https://x.com/#f"] {
            assert!(parse_public_url(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn leptos_toml_parses() {
        let options = leptos_options().unwrap();
        assert_eq!(options.site_addr.port(), 3000);
        assert!(!options.output_name.is_empty());
    }
}
