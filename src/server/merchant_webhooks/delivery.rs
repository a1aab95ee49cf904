//! Sends due deliveries: every app server runs one worker; a delivery is
//! claimed by moving its `next_attempt_at` past a lease (compare-and-set), so
//! two workers never send it at once, and one killed mid-send leaves it due
//! again when the lease ends. Delivery is at least once: receivers
//! de-duplicate by the event's `id` (also the `webhook-id` header).

use crate::domain::webhook::{ip_is_public, next_attempt_at, DeliveryStatus, EndpointUrl};
use crate::domain::Mode;
use crate::error::AppResult;
use crate::server::db::{now_ms, Db};
use crate::server::secrets::SecretBox;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// How the worker behaves (from the server's configuration).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Deliveries sent at once by this server; 0 runs no worker here.
    pub concurrency: usize,
    /// The first retry's wait; each further one doubles (capped at 4 h).
    pub retry_base_ms: i64,
    /// How long a receiver may take to answer.
    pub timeout: Duration,
    /// Whether endpoints may point into the server's own network.
    pub allow_private: bool,
}

impl Settings {
    /// A claimed delivery is due again after this, if its worker never reports.
    fn lease_ms(&self) -> i64 {
        2 * self.timeout.as_millis() as i64 + 5_000
    }
}

/// Wakes this process's worker (after a commit that wrote events), so
/// deliveries leave at once instead of at the next poll.
pub fn wake() {
    notifier().notify_one();
}

fn notifier() -> &'static tokio::sync::Notify {
    static NOTIFY: std::sync::OnceLock<tokio::sync::Notify> = std::sync::OnceLock::new();
    NOTIFY.get_or_init(tokio::sync::Notify::new)
}

/// How often the worker looks for due deliveries when nothing woke it
/// (retries coming due, events written by other app servers).
const POLL: Duration = Duration::from_millis(500);

/// Starts this server's worker (none if `settings.concurrency` is 0); abort
/// it when the server stops.
/// When the worker last went round its loop (it does at least every [`POLL`]).
static HEARTBEAT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Whether this process's delivery worker went round its loop in the last
/// 30 seconds (`/readyz`).
pub fn worker_alive(now: i64) -> bool {
    now - HEARTBEAT.load(std::sync::atomic::Ordering::Relaxed) < 30_000
}

pub fn spawn_worker(db: Db, secrets: SecretBox, settings: Settings) -> Option<tokio::task::AbortHandle> {
    if settings.concurrency == 0 {
        return None;
    }
    let task = tokio::spawn(async move {
        let worker = Arc::new(Worker { client: client(&settings), db, secrets, settings, busy: std::sync::Mutex::default() });
        // Dropped with this task when the server stops: sends in flight end too.
        let mut sending = tokio::task::JoinSet::new();
        loop {
            HEARTBEAT.store(crate::server::db::now_ms(), std::sync::atomic::Ordering::Relaxed);
            while sending.try_join_next().is_some() {}
            let room = worker.settings.concurrency.saturating_sub(sending.len());
            let started = if room == 0 {
                0
            } else {
                worker.clone().start_due(room, &mut sending).await.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "webhook worker: could not read due deliveries; retrying");
                    0
                })
            };
            if started == 0 {
                // Nothing due, or no room: wait for new events, a finished send or the poll.
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = notifier().notified() => {}
                    Some(_) = sending.join_next(), if !sending.is_empty() => {}
                }
            }
        }
    });
    Some(task.abort_handle())
}

struct Worker {
    db: Db,
    secrets: SecretBox,
    settings: Settings,
    client: reqwest::Client,
    /// What this worker is sending to right now.
    busy: std::sync::Mutex<Busy>,
}

/// Fairness: one delivery at a time per endpoint, and at most half of the
/// worker's slots per merchant, so a slow endpoint (or a merchant with many)
/// holds only its own share while everyone else's events keep leaving.
#[derive(Default)]
struct Busy {
    endpoints: std::collections::HashSet<i64>,
    accounts: std::collections::HashMap<i64, usize>,
}

impl Busy {
    fn admits(&self, endpoint: i64, account: i64, per_account: usize) -> bool {
        !self.endpoints.contains(&endpoint) && self.accounts.get(&account).copied().unwrap_or(0) < per_account
    }

    fn take(&mut self, endpoint: i64, account: i64) {
        self.endpoints.insert(endpoint);
        *self.accounts.entry(account).or_default() += 1;
    }

    fn release(&mut self, endpoint: i64, account: i64) {
        self.endpoints.remove(&endpoint);
        if let Some(n) = self.accounts.get_mut(&account) {
            *n -= 1;
            if *n == 0 {
                self.accounts.remove(&account);
            }
        }
    }
}

/// Endpoints with something due, looked at per pass: more than the slots, so
/// those that are busy or over their merchant's share can be skipped.
const CANDIDATE_ENDPOINTS: i64 = 256;

/// The most of an endpoint's answer that is read (and then dropped).
const ANSWER_READ_MAX: usize = 64 * 1024;

fn client(settings: &Settings) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
        // A redirect could lead anywhere (inside our network, too): a 3xx is a failed attempt.
        .redirect(reqwest::redirect::Policy::none())
        // HTTP(S)_PROXY would connect somewhere else than the checked address.
        .no_proxy()
        .user_agent(concat!("Paylinks-Webhooks/", env!("CARGO_PKG_VERSION")));
    let builder = if settings.allow_private { builder } else { builder.dns_resolver(Arc::new(PublicOnly)) };
    builder.build().expect("the webhook HTTP client builds")
}

/// Resolves host names, dropping addresses inside the server's own network:
/// a public name pointing at 10.0.0.1 is refused at connect time too.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.filter(|a| ip_is_public(a.ip())).collect();
            if addrs.is_empty() {
                return Err(format!("{} resolves only to private addresses", name.as_str()).into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// One claimed delivery, with what sending it needs.
struct Claimed {
    id: i64,
    endpoint_id: i64,
    created_at: i64,
    lease_until: i64,
    attempts: u32,
    give_up_at: i64,
    event_public_id: String,
    payload: String,
    url: String,
    mode: Mode,
    secrets: Result<Vec<String>, String>,
}

/// A claimed delivery as read: its event, endpoint and sealed secrets.
#[derive(sqlx::FromRow)]
struct ClaimedRow {
    endpoint_id: i64,
    created_at: i64,
    attempts: i64,
    give_up_at: i64,
    event_public_id: String,
    payload: String,
    url: String,
    #[sqlx(try_from = "String")]
    mode: Mode,
    endpoint_public_id: String,
    secret_sealed: String,
    previous_secret_sealed: Option<String>,
    previous_secret_until: Option<i64>,
}

/// What one attempt got.
struct Outcome {
    status_code: Option<u16>,
    latency_ms: i64,
    error: Option<String>,
}

impl Worker {
    /// Claims up to `room` due deliveries, the oldest due first but at most
    /// one per endpoint and a share per merchant (see [`Busy`]), and starts
    /// sending them; returns how many started.
    async fn start_due(self: Arc<Self>, room: usize, sending: &mut tokio::task::JoinSet<()>) -> AppResult<usize> {
        let now = now_ms();
        let endpoints: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT d.endpoint_id, e.account_id \
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.turned_off_at IS NULL \
             GROUP BY d.endpoint_id, e.account_id ORDER BY MIN(d.next_attempt_at) LIMIT $2",
        )
        .bind(now)
        .bind(CANDIDATE_ENDPOINTS)
        .fetch_all(self.db.pool())
        .await?;
        let per_account = (self.settings.concurrency / 2).max(1);
        let mut started = 0;
        for (endpoint, account) in endpoints {
            if started == room {
                break;
            }
            if !self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner).admits(endpoint, account, per_account) {
                continue;
            }
            let next: Option<(i64, i64)> = sqlx::query_as(
                "SELECT id, next_attempt_at FROM webhook_deliveries \
                 WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT 1",
            )
            .bind(endpoint)
            .bind(now)
            .fetch_optional(self.db.pool())
            .await?;
            let Some((id, seen)) = next else { continue };
            let Some(claimed) = self.claim(id, seen).await? else {
                continue; // another server took it
            };
            self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take(endpoint, account);
            let worker = self.clone();
            sending.spawn(async move {
                let outcome = worker.send(&claimed).await;
                if let Err(e) = worker.record(&claimed, &outcome).await {
                    // The lease runs out and the delivery is sent again: at least once.
                    tracing::warn!(delivery = claimed.id, error = %e, "could not record a webhook attempt");
                }
                worker.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner).release(endpoint, account);
                // Its endpoint may have more waiting: look again now.
                wake();
            });
            started += 1;
        }
        Ok(started)
    }

    async fn claim(&self, id: i64, seen_next_attempt: i64) -> AppResult<Option<Claimed>> {
        let now = now_ms();
        let lease_until = now + self.settings.lease_ms();
        // Writes queue with the payments' (SQLite has one writer).
        let mut tx = self.db.begin().await?;
        let claimed = sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $1, attempts = attempts + 1, last_attempt_at = $2 \
             WHERE id = $3 AND status = 'pending' AND next_attempt_at = $4",
        )
        .bind(lease_until)
        .bind(now)
        .bind(id)
        .bind(seen_next_attempt)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if claimed.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query_as::<_, ClaimedRow>(
            "SELECT d.endpoint_id, d.created_at, d.attempts, d.give_up_at, ev.public_id AS event_public_id, ev.payload, e.url, e.mode, e.public_id AS endpoint_public_id, \
             e.secret_sealed, e.previous_secret_sealed, e.previous_secret_until \
             FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.id = $1",
        )
        .bind(id)
        .fetch_one(self.db.pool())
        .await?;
        let context = secret_context(&row.endpoint_public_id);
        let previous = row.previous_secret_sealed.filter(|_| row.previous_secret_until.is_some_and(|t| t > now));
        // A current secret that no longer opens (the server key was changed)
        // fails the attempt like an unreachable endpoint would: retried, then
        // given up, until the merchant rotates it. A previous one that does
        // not open is only left out.
        let secrets = self
            .secrets
            .open(&row.secret_sealed, &context)
            .map(|current| std::iter::once(current).chain(previous.and_then(|sealed| self.secrets.open(&sealed, &context).ok())).collect())
            .map_err(|_| "the signing secret cannot be opened with this server's key".to_owned());
        Ok(Some(Claimed {
            id,
            endpoint_id: row.endpoint_id,
            created_at: row.created_at,
            lease_until,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            give_up_at: row.give_up_at,
            event_public_id: row.event_public_id,
            payload: row.payload,
            url: row.url,
            mode: row.mode,
            secrets,
        }))
    }

    async fn send(&self, d: &Claimed) -> Outcome {
        let started = std::time::Instant::now();
        let elapsed = || started.elapsed().as_millis() as i64;
        // The operator may have tightened the rules since the endpoint was saved.
        if let Err(e) = EndpointUrl::parse(&d.url, d.mode, self.settings.allow_private) {
            return Outcome { status_code: None, latency_ms: 0, error: Some(format!("endpoint refused: {e}")) };
        }
        let secrets = match &d.secrets {
            Ok(secrets) => secrets,
            Err(e) => return Outcome { status_code: None, latency_ms: 0, error: Some(e.clone()) },
        };
        let timestamp = now_ms() / 1000;
        let signatures: Vec<String> = secrets.iter().filter_map(|s| sign(s, &d.event_public_id, timestamp, &d.payload)).collect();
        let result = self
            .client
            .post(&d.url)
            .header("content-type", "application/json")
            .header("webhook-id", &d.event_public_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(d.payload.clone())
            .send()
            .await;
        match result {
            Ok(mut response) => {
                let code = response.status().as_u16();
                // Read a little of the answer so the connection can be reused,
                // never more than ANSWER_READ_MAX (an endpoint may send gigabytes).
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    let mut read = 0;
                    while let Ok(Some(chunk)) = response.chunk().await {
                        read += chunk.len();
                        if read > ANSWER_READ_MAX {
                            break;
                        }
                    }
                })
                .await;
                let error = (!(200..300).contains(&code)).then(|| format!("answered HTTP {code}"));
                Outcome { status_code: Some(code), latency_ms: elapsed(), error }
            }
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out".to_owned()
                } else if e.is_connect() {
                    format!("could not connect: {}", root_cause(&e))
                } else {
                    root_cause(&e)
                };
                Outcome { status_code: None, latency_ms: elapsed(), error: Some(what) }
            }
        }
    }

    /// Writes the attempt's result, if the lease is still ours (a re-send or
    /// another worker after a lease ran out may have moved it meanwhile).
    async fn record(&self, d: &Claimed, outcome: &Outcome) -> AppResult<()> {
        let now = now_ms();
        let (status, next) = match &outcome.error {
            None => (DeliveryStatus::Succeeded, now),
            Some(_) => match next_attempt_at(d.attempts, now, d.give_up_at, self.settings.retry_base_ms) {
                Some(next) => (DeliveryStatus::Pending, next),
                None => (DeliveryStatus::Failed, now),
            },
        };
        let error = outcome.error.as_deref().map(|e| e.chars().take(300).collect::<String>());
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, last_status_code = $3, last_latency_ms = $4, \
             last_error = $5 WHERE id = $6 AND status = 'pending' AND next_attempt_at = $7",
        )
        .bind(status.as_str())
        .bind(next)
        .bind(outcome.status_code.map(i64::from))
        .bind(outcome.latency_ms)
        .bind(error)
        .bind(d.id)
        .bind(d.lease_until)
        .execute(&mut *tx)
        .await?;
        match &outcome.error {
            None => tracing::info!(event = %d.event_public_id, delivery = d.id, endpoint = d.endpoint_id, attempt = d.attempts,
                status_code = outcome.status_code, latency_ms = outcome.latency_ms, "webhook delivered"),
            Some(error) => tracing::warn!(event = %d.event_public_id, delivery = d.id, endpoint = d.endpoint_id, attempt = d.attempts,
                status_code = outcome.status_code, latency_ms = outcome.latency_ms, %error, gave_up = status == DeliveryStatus::Failed, "webhook attempt failed"),
        }
        if status == DeliveryStatus::Failed {
            turn_off_if_failing(&mut tx, d, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Turns the endpoint of `d` (just given up) off when nothing it was sent
/// succeeded since `d` was created: it failed for a whole retry window, so
/// it is broken, not flaky. The merchant gets an email (once per turn-off);
/// new events skip it and its pending deliveries wait until they turn it
/// back on.
async fn turn_off_if_failing(tx: &mut crate::server::db::WriteTx, d: &Claimed, now: i64) -> AppResult<()> {
    let turned_off: Option<i64> = sqlx::query_scalar(
        "UPDATE webhook_endpoints SET turned_off_at = $1 WHERE id = $2 AND turned_off_at IS NULL AND disabled_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $2 AND status = 'succeeded' AND last_attempt_at >= $3) \
         RETURNING account_id",
    )
    .bind(now)
    .bind(d.endpoint_id)
    .bind(d.created_at)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(account_id) = turned_off {
        let kind = crate::domain::email::EmailKind::WebhookDisabled;
        crate::server::email::queue_notice(tx, account_id, Some(d.mode), kind, d.endpoint_id, now).await?;
        tracing::warn!(endpoint = d.endpoint_id, "webhook endpoint turned off: its deliveries failed for a whole retry window");
    }
    Ok(())
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The context a secret is sealed under: one endpoint's secret cannot be
/// swapped into another's row.
pub(crate) fn secret_context(endpoint_public_id: &str) -> String {
    format!("webhook-endpoint:{endpoint_public_id}")
}

/// Standard Webhooks' signature: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
/// the key being the base64 after `whsec_`. `None` for a malformed secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())))
}

/// A new signing secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).expect("the OS provides randomness");
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification: our signature
    /// verifies with every library that implements it.
    #[test]
    fn signs_like_standard_webhooks() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(sign(secret, id, 1614265330, body).unwrap(), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_ne!(sign(secret, id, 1614265331, body), sign(secret, id, 1614265330, body));
        assert_eq!(sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id, 1, body), None);
        assert_eq!(sign("whsec_not base64!", id, 1, body), None);
    }

    #[test]
    fn new_secrets_are_random_and_usable() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with("whsec_") && a.len() == 6 + 44);
        assert!(sign(&a, "evt_1", 1, "{}").is_some());
    }

    #[test]
    fn the_lease_outlasts_a_send() {
        let settings = Settings { concurrency: 1, retry_base_ms: 1, timeout: Duration::from_secs(10), allow_private: false };
        assert!(settings.lease_ms() > 2 * 10_000);
    }
}
