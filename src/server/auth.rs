//! Passwords, sessions and sign-in rate limits.
//!
//! Sessions are server-side rows keyed by the SHA-256 of a random 256-bit token;
//! the browser holds only the token, in an `HttpOnly` cookie. A stolen database
//! therefore holds no usable session.

use super::db::{now_ms, Db};
use crate::domain::{fields::NewPassword, time_zone::TimeZone, AccountView, ApplicationStatus, Locale, Mode, Role};
use crate::error::{AppError, AppResult};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use http::header::{HeaderMap, HeaderValue, COOKIE};
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "pl_session";
/// A session ends 14 days after sign-in at the latest…
pub const SESSION_TTL_MS: i64 = 14 * 24 * 3600 * 1000;
/// …and after a day without use.
pub const SESSION_IDLE_MS: i64 = 24 * 3600 * 1000;
/// A session's idle deadline moves at most this often (one write a minute, not one per request).
const SESSION_TOUCH_MS: i64 = 60 * 1000;

/// Argon2 hashes computed at once. Each takes 19 MiB for its whole run, so
/// the memory they need is bounded by this, however many requests want one;
/// the others wait their turn (at most [`HASH_QUEUE_WAIT`]).
fn hash_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(cores.clamp(2, 8))
    })
}

/// How long a request waits for a hashing slot before it is answered 503.
pub const HASH_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs one Argon2 computation on the blocking pool once a slot is free.
async fn with_hash_slot<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let permit = match tokio::time::timeout(HASH_QUEUE_WAIT, hash_slots().acquire()).await {
        Ok(Ok(permit)) => permit,
        _ => return Err(AppError::Busy { retry_after_secs: HASH_QUEUE_WAIT.as_secs() as u32 }),
    };
    let result = tokio::task::spawn_blocking(work).await.map_err(|e| anyhow::anyhow!(e))?;
    drop(permit);
    Ok(result)
}

/// Argon2id with a fresh random salt, in PHC string form.
pub async fn hash_password(password: &NewPassword) -> AppResult<String> {
    let password = password.expose().to_owned();
    with_hash_slot(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
    .map_err(AppError::from)
}

/// Compares in constant time. With no stored hash (unknown email) it still does
/// the work of one verification, so timing does not reveal which emails exist.
/// `Err(Busy)` when no hashing slot came free in time.
pub async fn verify_password(stored_hash: Option<String>, candidate: &str) -> AppResult<bool> {
    let candidate = candidate.to_owned();
    with_hash_slot(move || {
        let verify = |hash: &str| PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok());
        match stored_hash {
            Some(hash) => verify(&hash),
            None => {
                let _ = verify(DUMMY_HASH.get_or_init(dummy_hash));
                false
            }
        }
    })
    .await
}

static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn dummy_hash() -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(b"no account has this password", &salt).expect("argon2 works").to_string()
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the OS provides randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts a new session (a new id every sign-in: no session fixation).
pub async fn create_session(db: &Db, account_id: i64) -> AppResult<String> {
    let token = random_token();
    let now = now_ms();
    sqlx::query("INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash(&token))
        .bind(account_id)
        .bind(now)
        .bind(now + SESSION_IDLE_MS)
        .execute(db.pool())
        .await?;
    Ok(token)
}

pub async fn delete_session(db: &Db, token: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash(token)).execute(db.pool()).await?;
    Ok(())
}

/// Ends every session of an account but `keep` (after a password change).
pub async fn delete_other_sessions(db: &Db, account_id: i64, keep: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2").bind(account_id).bind(token_hash(keep)).execute(db.pool()).await?;
    Ok(())
}

/// The session cookie's name: on HTTPS with the `__Host-` prefix, which
/// browsers accept only from a secure origin, for the whole site, without a
/// Domain, so a sibling subdomain cannot plant or overwrite it.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-pl_session"
    } else {
        SESSION_COOKIE
    }
}

pub fn session_token(headers: &HeaderMap, secure: bool) -> Option<String> {
    let prefix = format!("{}=", session_cookie_name(secure));
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(prefix.as_str()))
        .filter(|t| !t.is_empty() && t.len() <= 64)
        .map(str::to_owned)
}

pub fn session_cookie(token: &str, secure: bool) -> HeaderValue {
    let flag = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{}={token}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{flag}", session_cookie_name(secure), SESSION_TTL_MS / 1000))
        .expect("token is URL-safe base64")
}

pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    let flag = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{flag}", session_cookie_name(secure))).expect("static cookie")
}

/// An account row: its id, and what the dashboard sees of it (read through
/// `Deref`, e.g. `account.mode`).
#[derive(Clone, Debug)]
pub struct Account {
    pub id: i64,
    view: AccountView,
}

impl Account {
    /// The same merchant acting in `mode` (operator tools; the dashboard's mode is a setting).
    pub fn in_mode(mut self, mode: crate::domain::Mode) -> Account {
        self.view.mode = mode;
        self
    }
}

impl std::ops::Deref for Account {
    type Target = AccountView;
    fn deref(&self) -> &AccountView {
        &self.view
    }
}

impl Account {
    pub fn view(&self) -> AccountView {
        self.view.clone()
    }
}

/// A signed-in merchant. Only [`Merchant::of`] (the role check) makes one,
/// so a service that takes a `&Merchant` cannot be reached by anyone else.
/// Reads as its [`Account`] (`merchant.id`, `merchant.mode`).
#[derive(Clone, Debug)]
pub struct Merchant(Account);

impl Merchant {
    pub fn of(account: Account) -> AppResult<Merchant> {
        if account.role == Role::Merchant {
            Ok(Merchant(account))
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The same merchant acting in `mode` (operator tools; the dashboard's mode is a setting).
    pub fn in_mode(self, mode: crate::domain::Mode) -> Merchant {
        Merchant(self.0.in_mode(mode))
    }
}

impl std::ops::Deref for Merchant {
    type Target = Account;
    fn deref(&self) -> &Account {
        &self.0
    }
}

/// A signed-in member of the review team; only [`Reviewer::of`] makes one.
#[derive(Clone, Debug)]
pub struct Reviewer(Account);

impl Reviewer {
    pub fn of(account: Account) -> AppResult<Reviewer> {
        if account.role == Role::Reviewer {
            Ok(Reviewer(account))
        } else {
            Err(AppError::Forbidden)
        }
    }
}

impl std::ops::Deref for Reviewer {
    type Target = Account;
    fn deref(&self) -> &Account {
        &self.0
    }
}

const ACCOUNT_COLUMNS: &str = "a.id, a.email, a.public_id, a.business_name, a.role, a.mode, a.locale, a.time_zone, a.email_verified_at, \
     COALESCE(l.status, 'none') AS application";

/// A row of [`ACCOUNT_COLUMNS`].
#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    email: String,
    public_id: String,
    business_name: String,
    #[sqlx(try_from = "String")]
    role: Role,
    #[sqlx(try_from = "String")]
    mode: Mode,
    #[sqlx(try_from = "String")]
    locale: Locale,
    #[sqlx(try_from = "String")]
    application: ApplicationStatus,
    #[sqlx(try_from = "String")]
    time_zone: TimeZone,
    email_verified_at: Option<i64>,
}

impl From<AccountRow> for Account {
    fn from(row: AccountRow) -> Account {
        Account {
            id: row.id,
            view: AccountView {
                email: row.email,
                public_id: row.public_id,
                business_name: row.business_name,
                role: row.role,
                mode: row.mode,
                locale: row.locale,
                application: row.application,
                time_zone: row.time_zone,
                email_verified: row.email_verified_at.is_some(),
            },
        }
    }
}

/// An account with the API key it was found by.
#[derive(sqlx::FromRow)]
struct KeyHolderRow {
    #[sqlx(flatten)]
    account: AccountRow,
    #[sqlx(try_from = "String")]
    key_mode: Mode,
    key_id: i64,
    last_used: i64,
}

/// The merchant behind a secret API key that is not revoked, in the key's
/// mode (whatever mode their dashboard is in). Records the use, at most once
/// a minute per key. Returns the key's id beside the account.
pub async fn account_by_api_key(db: &Db, key: &str) -> AppResult<Option<(Account, i64)>> {
    let Some(claimed) = crate::domain::api_key::mode_of(key).filter(|_| key.len() <= 100) else {
        return Ok(None);
    };
    let hash = token_hash(key);
    let row = sqlx::query_as::<_, KeyHolderRow>(&format!(
        "SELECT {ACCOUNT_COLUMNS}, k.mode AS key_mode, k.id AS key_id, COALESCE(k.last_used_at, 0) AS last_used \
         FROM api_keys k JOIN accounts a ON a.id = k.account_id \
         LEFT JOIN live_applications l ON l.account_id = a.id \
         WHERE k.key_hash = $1 AND k.revoked_at IS NULL"
    ))
    .bind(hash)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut account = Account::from(row.account);
    let mode = row.key_mode;
    if mode != claimed || account.role != crate::domain::Role::Merchant {
        return Ok(None);
    }
    // A live key stops working if live mode is withdrawn.
    if mode == crate::domain::Mode::Live && !account.can_go_live() {
        return Err(AppError::LiveNotApproved);
    }
    account.view.mode = mode;
    let key_id = row.key_id;
    let now = now_ms();
    if now - row.last_used > 60_000 {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(now).bind(key_id).execute(db.pool()).await?;
    }
    Ok(Some((account, key_id)))
}

pub async fn account_by_session(db: &Db, token: &str) -> AppResult<Option<Account>> {
    let row = sqlx::query_as::<_, AccountRow>(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM sessions s JOIN accounts a ON a.id = s.account_id \
         LEFT JOIN live_applications l ON l.account_id = a.id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.created_at > $3"
    ))
    .bind(token_hash(token))
    .bind(now_ms())
    .bind(now_ms() - SESSION_TTL_MS)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    touch_session(db, token).await?;
    Ok(Some(row.into()))
}

/// The signed-in merchant of a plain axum request (CSV export, mailbox
/// preview), by the same session cookie and role check as the server functions.
pub async fn merchant_from_headers(db: &Db, headers: &HeaderMap, secure: bool) -> AppResult<Merchant> {
    let account = match session_token(headers, secure) {
        Some(token) => account_by_session(db, &token).await?,
        None => None,
    };
    Merchant::of(account.ok_or(AppError::NotSignedIn)?)
}

/// Moves a used session's idle deadline (never past its absolute end).
async fn touch_session(db: &Db, token: &str) -> AppResult<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE sessions SET expires_at = CASE WHEN created_at + $2 < $3 THEN created_at + $2 ELSE $3 END \
         WHERE token_hash = $1 AND expires_at < $4",
    )
    .bind(token_hash(token))
    .bind(SESSION_TTL_MS)
    .bind(now + SESSION_IDLE_MS)
    .bind(now + SESSION_IDLE_MS - SESSION_TOUCH_MS)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Deletes sessions that ended (idle or too old); run by the periodic job.
pub async fn purge_sessions(db: &Db, now: i64) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR created_at <= $2").bind(now).bind(now - SESSION_TTL_MS).execute(db.pool()).await?;
    Ok(done.rows_affected())
}

pub async fn account_by_id(db: &Db, id: i64) -> AppResult<Option<Account>> {
    let row = sqlx::query_as::<_, AccountRow>(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts a LEFT JOIN live_applications l ON l.account_id = a.id WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(Account::from))
}

/// Id and password hash for a sign-in attempt.
pub async fn credentials_by_email(db: &Db, email: &str) -> AppResult<Option<(i64, String)>> {
    Ok(sqlx::query_as("SELECT id, password_hash FROM accounts WHERE email = $1").bind(email).fetch_optional(db.pool()).await?)
}

/// Creates an account; `Err(EmailTaken)` if the email is in use (also under a race:
/// the unique index decides).
pub async fn create_account(db: &Db, email: &str, business_name: &str, password_hash: &str, role: Role, locale: Locale) -> AppResult<i64> {
    let result = sqlx::query_scalar(
        "INSERT INTO accounts (email, public_id, business_name, password_hash, role, locale, mode, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'test', $7) RETURNING id",
    )
    .bind(email)
    .bind(random_token()[..22].to_owned())
    .bind(business_name)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(locale.code())
    .bind(now_ms())
    .fetch_one(db.pool())
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}
