//! The payment engine: attempts, transitions, per-link statistics, expiry and
//! the `verify` recomputation.
//!
//! Every change of a payment is one database transaction that (1) moves the
//! payment with a compare-and-set on its current state, (2) moves the link's
//! statistics by the state machine's delta and (3) appends an event. A capture
//! also re-checks the link (status, expiry, usage limit) in the same statement
//! that counts it, so N concurrent customers on a limit of N capture exactly N.

use super::db::{now_ms, Backend, Db, RowLock};
use crate::domain::card::{CardBrand, CardSummary, KonbiniStore};
use crate::domain::link::{availability, Availability, LinkStatus};
use crate::domain::payment::{
    DeclineReason, Method, PaymentEvent, PaymentState, PaymentStatus, PaymentView, SalesStats, Transition, UnwantedCapture,
};
use crate::domain::webhook::{wanted_by, EventSet, EventType};
use crate::domain::{Currency, LinkSlug, Locale, Mode};
use super::merchant_webhooks::outbox;
use crate::error::{AppError, AppResult};
use sqlx::Row;

mod group_commit;
pub use group_commit::written_together;

/// A random 128-bit, URL-safe string (22 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the OS provides randomness");
    LinkSlug::from_random(bytes).as_str().to_owned()
}

/// Idempotency tokens are ours (`random_token`), but arrive from a form.
pub fn valid_token(token: &str) -> bool {
    LinkSlug::parse(token).is_some()
}

/// What the checkout page needs of a link and its merchant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutLink {
    pub id: i64,
    pub account_id: i64,
    pub slug: String,
    pub mode: Mode,
    pub name: String,
    pub description: String,
    pub amount: i64,
    pub currency: Currency,
    pub language: Locale,
    pub availability: Availability,
    /// How many captures the link takes, if limited (its captures then take turns).
    pub usage_limit: Option<i64>,
    pub image_sha: Option<String>,
    pub business_name: String,
    /// The merchant's public 特商法 page, once their application is approved.
    pub legal_public_id: Option<String>,
    /// Every event type the merchant's active endpoints of this mode take
    /// (`None`: no endpoint), read with the link: a payment's events go to
    /// the endpoints there were when its link was read.
    pub subscribed: Option<EventSet>,
}

pub async fn checkout_link(db: &Db, slug: &str) -> AppResult<CheckoutLink> {
    Ok(load_checkout_link(db, slug).await?.at(now_ms()))
}

/// [`checkout_link`], up to [`LINK_CACHE_TTL`] old (changes made through
/// this process show at once), for showing the page and for taking a
/// payment: the payment's write checks the link's state itself, in its
/// transaction (see [`start_with`]), so a link closed meanwhile takes nothing.
pub async fn checkout_link_cached(db: &Db, slug: &str) -> AppResult<CheckoutLink> {
    let now = std::time::Instant::now();
    if let Some(hit) = link_cache().lock().ok().and_then(|cache| cache.get(slug).filter(|(at, _)| now.duration_since(*at) < LINK_CACHE_TTL).map(|(_, l)| l.clone())) {
        return Ok(hit.at(now_ms()));
    }
    let loaded = load_checkout_link(db, slug).await?;
    if let Ok(mut cache) = link_cache().lock() {
        if cache.len() >= 10_000 {
            cache.clear();
        }
        cache.insert(slug.to_owned(), (now, loaded.clone()));
    }
    Ok(loaded.at(now_ms()))
}

/// How long a checkout page may show a link as it was (another app server
/// may have changed it meanwhile).
pub const LINK_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// A link's row as read, before "now" decides whether it takes payments.
#[derive(Clone)]
struct LoadedLink {
    link: CheckoutLink,
    status: LinkStatus,
    expires_at: Option<i64>,
    captured_count: i64,
}

impl LoadedLink {
    fn at(mut self, now: i64) -> CheckoutLink {
        self.link.availability = availability(self.status, self.expires_at, self.link.usage_limit, self.captured_count, now);
        self.link
    }
}

type LinkCache = std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, LoadedLink)>>;

/// Slugs are 128-bit random, so one map serves the process (a server has one
/// database; only tests open a restored copy beside its original).
fn link_cache() -> &'static LinkCache {
    static CACHE: std::sync::OnceLock<LinkCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Drops the cached copy of link `id` (after this process changed it).
pub fn forget_checkout_link(id: i64) {
    if let Ok(mut cache) = link_cache().lock() {
        cache.retain(|_, (_, loaded)| loaded.link.id != id);
    }
}

/// Drops the cached links of account `id` (its webhook endpoints changed:
/// the links carry their subscriptions).
pub fn forget_account_links(id: i64) {
    if let Ok(mut cache) = link_cache().lock() {
        cache.retain(|_, (_, loaded)| loaded.link.account_id != id);
    }
}

/// A capture on link `id` committed: only a usage limit makes that visible.
fn captured_on(id: i64) {
    if let Ok(mut cache) = link_cache().lock() {
        cache.retain(|_, (_, loaded)| loaded.link.id != id || loaded.link.usage_limit.is_none());
    }
}

async fn load_checkout_link(db: &Db, slug: &str) -> AppResult<LoadedLink> {
    let slug = LinkSlug::parse(slug).ok_or(AppError::NotFound)?;
    let row = sqlx::query(
        "SELECT l.id, l.account_id, l.slug, l.mode, l.name, l.description, l.amount, l.currency, l.language, l.status, \
         l.usage_limit, l.expires_at, l.captured_count, i.sha256 AS image_sha, a.business_name, a.public_id, \
         (SELECT status FROM live_applications WHERE account_id = a.id) AS application, \
         (SELECT string_agg(w.events, ' ') FROM webhook_endpoints w \
          WHERE w.account_id = l.account_id AND w.mode = l.mode AND w.disabled_at IS NULL) AS subscribed \
         FROM links l JOIN accounts a ON a.id = l.account_id LEFT JOIN images i ON i.id = l.image_id WHERE l.slug = $1",
    )
    .bind(slug.as_str().to_owned())
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let corrupt = || AppError::from(anyhow::anyhow!("corrupt link row"));
    let status = LinkStatus::parse(&row.try_get::<String, _>("status")?).ok_or_else(corrupt)?;
    let approved = row.try_get::<Option<String>, _>("application")?.as_deref() == Some("approved");
    let link = CheckoutLink {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        slug: row.try_get("slug")?,
        mode: row.try_get::<String, _>("mode")?.parse().map_err(|_| corrupt())?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        amount: row.try_get("amount")?,
        currency: row.try_get::<String, _>("currency")?.parse().map_err(|_| corrupt())?,
        language: row.try_get::<String, _>("language")?.parse().map_err(|_| corrupt())?,
        availability: Availability::Active,
        usage_limit: row.try_get("usage_limit")?,
        image_sha: row.try_get("image_sha")?,
        business_name: row.try_get("business_name")?,
        legal_public_id: approved.then(|| row.try_get("public_id")).transpose()?,
        subscribed: row.try_get::<Option<String>, _>("subscribed")?.as_deref().map(EventSet::from_stored),
    };
    Ok(LoadedLink {
        link,
        status,
        expires_at: row.try_get("expires_at")?,
        // The link row's own count is the whole usage count of a link with a
        // limit (see `count_capture`); without one the count decides nothing here.
        captured_count: row.try_get("captured_count")?,
    })
}

/// What the customer chose and typed, already parsed. The card itself is
/// reduced to its summary before it gets here; its outcome comes from the
/// connector.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub token: String,
    pub method: Method,
    pub locale: Locale,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub card: Option<CardSummary>,
    pub konbini_store: Option<KonbiniStore>,
}

pub(crate) const COLUMNS: &str = "p.id, p.public_id, p.link_id, l.slug AS link_slug, l.name AS link_name, p.mode, p.method, p.status, \
     p.amount, p.refunded_amount, p.currency, p.locale, p.customer_email, p.customer_name, p.card_brand, p.card_last4, \
     p.card_expiry, p.konbini_store, p.konbini_number, p.failure_reason, p.deadline_at, p.created_at, p.captured_at, \
     p.provider_ref, p.provider_session, p.provider_url, p.holds_unit, p.unwanted, p.auto_refund_next_at";

/// A stored payment: its row id, owner and view.
#[derive(Clone, Debug)]
pub struct Payment {
    pub id: i64,
    pub account_id: i64,
    pub view: PaymentView,
    /// Live mode: KOMOJU's payment id, once there is one.
    pub provider_ref: Option<String>,
    /// Live mode: the KOMOJU session and the page the customer pays on.
    pub provider_session: Option<String>,
    pub provider_url: Option<String>,
    /// Live mode, limited link: this attempt reserved a unit when it started
    /// (given back when it ends without a capture).
    pub holds_unit: bool,
}

impl Payment {
    pub fn state(&self) -> AppResult<PaymentState> {
        self.view.state().ok_or_else(|| anyhow::anyhow!("payment {} has an impossible state", self.id).into())
    }
}

pub(crate) fn payment(row: &sqlx::any::AnyRow) -> AppResult<Payment> {
    let corrupt = || AppError::from(anyhow::anyhow!("corrupt payment row"));
    let card = match (row.try_get::<Option<String>, _>("card_brand")?, row.try_get::<Option<String>, _>("card_last4")?) {
        (Some(brand), Some(last4)) => Some(CardSummary {
            brand: CardBrand::parse(&brand),
            last4,
            expiry: row.try_get::<Option<String>, _>("card_expiry")?.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(Payment {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        provider_ref: row.try_get("provider_ref")?,
        provider_session: row.try_get("provider_session")?,
        provider_url: row.try_get("provider_url")?,
        holds_unit: row.try_get::<i64, _>("holds_unit")? != 0,
        view: PaymentView {
            public_id: row.try_get("public_id")?,
            link_id: row.try_get("link_id")?,
            link_slug: row.try_get("link_slug")?,
            link_name: row.try_get("link_name")?,
            mode: row.try_get::<String, _>("mode")?.parse().map_err(|_| corrupt())?,
            method: Method::parse(&row.try_get::<String, _>("method")?).ok_or_else(corrupt)?,
            status: PaymentStatus::parse(&row.try_get::<String, _>("status")?).ok_or_else(corrupt)?,
            amount: row.try_get("amount")?,
            refunded_amount: row.try_get("refunded_amount")?,
            currency: row.try_get::<String, _>("currency")?.parse().map_err(|_| corrupt())?,
            locale: row.try_get::<String, _>("locale")?.parse().map_err(|_| corrupt())?,
            customer_email: row.try_get("customer_email")?,
            customer_name: row.try_get("customer_name")?,
            card,
            konbini_store: row.try_get::<Option<String>, _>("konbini_store")?.as_deref().and_then(KonbiniStore::parse),
            konbini_number: row.try_get("konbini_number")?,
            failure_reason: row.try_get::<Option<String>, _>("failure_reason")?.as_deref().and_then(DeclineReason::parse),
            deadline_at: row.try_get("deadline_at")?,
            created_at: row.try_get("created_at")?,
            captured_at: row.try_get("captured_at")?,
            unwanted: row.try_get::<Option<String>, _>("unwanted")?.as_deref().and_then(UnwantedCapture::parse),
            auto_refund_due: row.try_get::<Option<i64>, _>("auto_refund_next_at")?.is_some(),
        },
    })
}

/// How a payment is looked up.
enum Key {
    Id(i64),
    PublicId(String),
    Token(String),
}

async fn load(db: &Db, key: Key) -> AppResult<Option<Payment>> {
    let select = format!("SELECT {COLUMNS}, p.account_id FROM payments p JOIN links l ON l.id = p.link_id WHERE");
    let row = match key {
        Key::Id(id) => sqlx::query(&format!("{select} p.id = $1")).bind(id).fetch_optional(db.pool()).await?,
        Key::PublicId(id) => sqlx::query(&format!("{select} p.public_id = $1")).bind(id).fetch_optional(db.pool()).await?,
        Key::Token(t) => sqlx::query(&format!("{select} p.idempotency_token = $1")).bind(t).fetch_optional(db.pool()).await?,
    };
    row.as_ref().map(payment).transpose()
}

pub async fn by_id(db: &Db, id: i64) -> AppResult<Payment> {
    load(db, Key::Id(id)).await?.ok_or(AppError::NotFound)
}

pub async fn by_public_id(db: &Db, public_id: &str) -> AppResult<Payment> {
    load(db, Key::PublicId(public_id.to_owned())).await?.ok_or(AppError::NotFound)
}

pub async fn by_token(db: &Db, token: &str) -> AppResult<Option<Payment>> {
    load(db, Key::Token(token.to_owned())).await
}

/// A live payment of `account_id` by its KOMOJU session or payment id.
pub async fn by_provider(db: &Db, account_id: i64, session: Option<&str>, provider_ref: Option<&str>) -> AppResult<Option<Payment>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, p.account_id FROM payments p JOIN links l ON l.id = p.link_id \
         WHERE p.account_id = $1 AND p.mode = 'live' AND (p.provider_session = $2 OR p.provider_ref = $3)"
    ))
    .bind(account_id)
    .bind(session.map(str::to_owned))
    .bind(provider_ref.map(str::to_owned))
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(payment).transpose()
}

/// Records the KOMOJU session created for a pending attempt (not a
/// transition: the payment stays pending, but its history says so).
pub async fn attach_session(db: &Db, id: i64, session: &str, url: &str) -> AppResult<Payment> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE payments SET provider_session = $1, provider_url = $2, updated_at = $3 \
         WHERE id = $4 AND status = 'pending' AND provider_session IS NULL",
    )
    .bind(session.to_owned())
    .bind(url.to_owned())
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 1 {
        append_event(&mut tx, id, "session_created", Some(PaymentStatus::Pending), PaymentStatus::Pending, None, Some(session), now).await?;
    }
    tx.commit().await?;
    by_id(db, id).await
}

/// Starts an attempt, or finds the one this token already started.
/// Returns the payment and whether this call created it.
pub async fn start(db: &Db, link: &CheckoutLink, attempt: &Attempt) -> AppResult<(Payment, bool)> {
    if let Some(existing) = by_token(db, &attempt.token).await? {
        return same_link(existing, link).map(|p| (p, false));
    }
    start_with(db, link, attempt, None).await
}

/// [`start`], with the connector's answer when it comes at once (the
/// test-mode simulator): the attempt is written in its final state, with both
/// events, in one commit. Nothing external happens in between, so nothing is
/// lost by not recording the pending state on its own. (A token already
/// used finds its payment through the insert's conflict; callers that
/// usually see repeats look it up first, as [`start`] does.)
pub async fn start_with(db: &Db, link: &CheckoutLink, attempt: &Attempt, outcome: Option<(Transition, Facts)>) -> AppResult<(Payment, bool)> {
    if !valid_token(&attempt.token) {
        return Err(AppError::BadRequest);
    }
    if link.availability != Availability::Active {
        return Err(AppError::Gone);
    }
    let mut outcome = outcome;
    let mut at_once_tried = false;
    loop {
        let now = now_ms();
        let pending = PaymentState::new(link.amount);
        let facts = outcome.as_ref().map(|(_, f)| f.clone()).unwrap_or_default();
        let transition = outcome.as_ref().map(|(t, _)| t.clone());
        let state = match &transition {
            Some(t) => pending.apply(t).map_err(|e| AppError::Conflict(e.to_string()))?,
            None => pending.clone(),
        };
        let mut payment = new_payment(link, attempt, &state, transition.as_ref(), &facts, now);
        let captured = state.status() == PaymentStatus::Captured;
        let enforce_link = !facts.provider_settled;
        // Those of its events the merchant's endpoints take.
        let events = match &transition {
            Some(t) => wanted_by(&EventType::of_transition(t, state.status()), link.subscribed.as_slice()),
            None => Vec::new(),
        };
        let delta = SalesStats::delta(None, &state);
        let day = crate::domain::transactions::sales_day(now);
        let detail = match &transition {
            Some(Transition::Fail { reason }) => Some(reason.as_str().to_owned()),
            _ => facts.note.clone(),
        };
        if let Some(t) = transition.as_ref().filter(|_| {
            !at_once_tried && events.is_empty() && (!captured || (enforce_link && link.usage_limit.is_none()))
        }) {
            at_once_tried = true;
            let first = FirstWrite { payment: payment.clone(), token: attempt.token.clone(), kind: t.kind(), detail: detail.clone(), delta, day, captured };
            let written = match db.backend() {
                // Written together with the payments of other customers that wait meanwhile.
                Backend::Postgres => group_commit::write(db, first).await?,
                // SQLite takes one writer at a time anyway.
                Backend::Sqlite => write_at_once(db, &first).await?,
            };
            match written {
                AtOnce::Written(id) => {
                    payment.id = id;
                    if captured {
                        captured_on(link.id);
                    }
                    return Ok((payment, true));
                }
                AtOnce::Repeat => return first_with_token(db, link, &attempt.token, AppError::Internal).await,
                // Closed since it was read (on another server): nothing was
                // written. A repeat still gets its first outcome.
                AtOnce::LinkClosed => return first_with_token(db, link, &attempt.token, AppError::Gone).await,
                // The statements below count it under the limit.
                AtOnce::LinkLimited => {}
            }
        }
        let mut tx = db.begin().await?;
        let inserted = bind_new_payment(
            sqlx::query(&format!("INSERT INTO payments {NEW_PAYMENT_COLUMNS} VALUES {NEW_PAYMENT_VALUES} ON CONFLICT (idempotency_token) DO NOTHING RETURNING id")),
            &payment,
            &attempt.token,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            // Another request with this token won the race; its outcome is ours.
            tx.rollback().await?;
            return first_with_token(db, link, &attempt.token, AppError::Internal).await;
        };
        let id: i64 = row.try_get(0)?;
        payment.id = id;
        match &transition {
            None => append_event(&mut tx, id, "created", None, PaymentStatus::Pending, None, Some(attempt.method.as_str()), now).await?,
            // Both events in one statement: the lock on the database is held for fewer round trips.
            Some(t) => {
                sqlx::query(&format!("INSERT INTO payment_events {EVENT_COLUMNS} VALUES ($1, 'created', NULL, 'pending', NULL, $2, $3), ($1, $4, 'pending', $5, NULL, $6, $3)"))
                    .bind(id)
                    .bind(attempt.method.as_str())
                    .bind(now)
                    .bind(t.kind())
                    .bind(state.status().as_str())
                    .bind(detail)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if delta.captured_amount != 0 {
            add_daily(&mut tx, link.id, id, day, delta.captured_amount).await?;
        }
        if transition.is_none() && link.mode == crate::domain::Mode::Live && link.usage_limit.is_some() {
            if !reserve_unit(&mut tx, link.id, id, now).await? {
                tx.rollback().await?;
                return Err(if link_takes_payments(db, link.id, now).await? { AppError::AllReserved } else { AppError::Gone });
            }
            payment.holds_unit = true;
        }
        // The link's counters last: a capture of a link with a usage limit
        // holds the link's row until the commit.
        if captured {
            if !count_capture(&mut tx, link.id, id, delta, now, enforce_link, link.usage_limit.is_some(), true).await? {
                // The link stopped taking payments: the attempt fails instead.
                tx.rollback().await?;
                outcome = Some((Transition::Fail { reason: DeclineReason::LinkUnavailable }, facts));
                continue;
            }
        } else {
            add_stats(&mut tx, link.id, id, delta).await?;
        }
        let notify = outbox::wanted_payment_events(&mut tx, link.account_id, link.mode, id, &events, now).await?;
        tx.commit().await?;
        if notify {
            super::merchant_webhooks::wake();
        }
        if captured {
            captured_on(link.id);
        }
        return Ok((payment, true));
    }
}

/// The payment a new attempt writes (its `id` once the insert gives one):
/// what the caller gets back, without reading the row again.
fn new_payment(link: &CheckoutLink, attempt: &Attempt, state: &PaymentState, transition: Option<&Transition>, facts: &Facts, now: i64) -> Payment {
    let status = state.status();
    Payment {
        id: 0,
        account_id: link.account_id,
        provider_ref: None,
        provider_session: None,
        provider_url: None,
        holds_unit: false,
        view: PaymentView {
            public_id: format!("pay_{}", random_token()),
            link_id: link.id,
            link_slug: link.slug.clone(),
            link_name: link.name.clone(),
            mode: link.mode,
            method: attempt.method,
            status,
            amount: link.amount,
            refunded_amount: 0,
            currency: link.currency,
            locale: attempt.locale,
            customer_email: attempt.customer_email.clone(),
            customer_name: attempt.customer_name.clone(),
            card: attempt.card.clone(),
            konbini_store: attempt.konbini_store,
            konbini_number: facts.konbini_number.clone(),
            failure_reason: match transition {
                Some(Transition::Fail { reason }) => Some(*reason),
                _ => None,
            },
            deadline_at: facts.deadline_at.unwrap_or(now + attempt.method.deadline_ms()),
            created_at: now,
            captured_at: (status == PaymentStatus::Captured).then_some(now),
            unwanted: None,
            auto_refund_due: false,
        },
    }
}

const NEW_PAYMENT_COLUMNS: &str = "(public_id, link_id, account_id, mode, idempotency_token, method, status, amount, currency, \
     locale, customer_email, customer_name, card_brand, card_last4, card_expiry, konbini_store, deadline_at, \
     created_at, updated_at, captured_at, failure_reason, konbini_number)";
const NEW_PAYMENT_VALUES: &str = "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20, $21)";
const EVENT_COLUMNS: &str = "(payment_id, kind, from_status, to_status, amount, detail, created_at)";

/// Binds [`NEW_PAYMENT_VALUES`] ($1 to $21) for `payment`, started with `token`.
fn bind_new_payment<'q>(query: AnyQuery<'q>, payment: &Payment, token: &str) -> AnyQuery<'q> {
    let view = &payment.view;
    query
        .bind(view.public_id.clone())
        .bind(view.link_id)
        .bind(payment.account_id)
        .bind(view.mode.as_str())
        .bind(token.to_owned())
        .bind(view.method.as_str())
        .bind(view.status.as_str())
        .bind(view.amount)
        .bind(view.currency.code())
        .bind(view.locale.code())
        .bind(view.customer_email.clone())
        .bind(view.customer_name.clone())
        .bind(view.card.as_ref().map(|c| c.brand.as_str().to_owned()))
        .bind(view.card.as_ref().map(|c| c.last4.clone()))
        .bind(view.card.as_ref().map(|c| c.expiry.clone()))
        .bind(view.konbini_store.map(|s| s.as_str().to_owned()))
        .bind(view.deadline_at)
        .bind(view.created_at)
        .bind(view.captured_at)
        .bind(view.failure_reason.map(|r| r.as_str().to_owned()))
        .bind(view.konbini_number.clone())
}

/// Binds `first`'s 30 values: [`NEW_PAYMENT_VALUES`], then the outcome's
/// event (kind, detail), the chart's day and amount, the usage count and the
/// counters' change ([`write_at_once`]'s $22 to $30).
fn bind_first<'q>(query: AnyQuery<'q>, first: &FirstWrite) -> AnyQuery<'q> {
    let d = first.delta;
    bind_new_payment(query, &first.payment, &first.token)
        .bind(first.kind)
        .bind(first.detail.clone())
        .bind(first.day)
        .bind(d.captured_amount)
        .bind(i64::from(first.captured))
        .bind(d.captured_amount)
        .bind(d.captured_payments)
        .bind(d.pending_payments)
        .bind(d.refunded_payments)
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The payment an earlier request with `token` started: a repeat gets its
/// outcome. `missing` is the answer when there is none.
async fn first_with_token(db: &Db, link: &CheckoutLink, token: &str, missing: AppError) -> AppResult<(Payment, bool)> {
    let existing = by_token(db, token).await?.ok_or(missing)?;
    same_link(existing, link).map(|p| (p, false))
}

/// A finished attempt as [`write_at_once`] writes it: the payment, its
/// token, its outcome's event (after `created`), the counters' change and
/// the chart's day.
struct FirstWrite {
    payment: Payment,
    token: String,
    kind: &'static str,
    detail: Option<String>,
    delta: SalesStats,
    day: i64,
    /// Whether the outcome is a capture (counted against a usage limit).
    captured: bool,
}

enum AtOnce {
    Written(i64),
    /// The token's payment already exists.
    Repeat,
    /// The link takes no payments now (inactive or expired).
    LinkClosed,
    /// A capture whose link has a usage limit now (set since it was read).
    LinkLimited,
}

/// A finished attempt (the simulator's), its two events, the chart's day and
/// the counters in one round trip: on PostgreSQL one statement (its own
/// transaction), on SQLite one batch of statements inside the write
/// transaction (which holds the database's write lock for three round trips
/// instead of six). It is written only while its link takes payments (a
/// capture: and has no usage limit), checked in the same transaction (on PostgreSQL
/// under a share lock: a deactivation waits for the commit, as in
/// `count_capture`); otherwise nothing is written. Not for attempts whose
/// events a merchant's endpoint takes (their outbox rows need the payment).
/// Parameters: [`NEW_PAYMENT_VALUES`] ($1 to $21), then $22 to $30 below.
async fn write_at_once(db: &Db, first: &FirstWrite) -> AppResult<AtOnce> {
    let captured = first.captured;
    let takes_payments = "status = 'active' AND (expires_at IS NULL OR expires_at > $18)";
    let open = if captured { format!("usage_limit IS NULL AND {takes_payments}") } else { takes_payments.to_owned() };
    let values = &NEW_PAYMENT_VALUES[1..NEW_PAYMENT_VALUES.len() - 1];
    let shards = COUNTER_SHARDS;
    let sql = match db.backend() {
        Backend::Postgres => format!(
            "WITH open AS (SELECT id FROM links WHERE id = $2 AND {open} FOR SHARE), \
             p AS (INSERT INTO payments {NEW_PAYMENT_COLUMNS} SELECT {values} FROM open \
                   ON CONFLICT (idempotency_token) DO NOTHING RETURNING id), \
             e AS (INSERT INTO payment_events {EVENT_COLUMNS} \
                   SELECT p.id, v.kind, v.from_status, v.to_status, CAST(NULL AS BIGINT), v.detail, $18 FROM p, \
                   (VALUES ('created', NULL, 'pending', $6), ($22, 'pending', $7, $23)) AS v (kind, from_status, to_status, detail)), \
             d AS (INSERT INTO link_daily_shards (link_id, day, shard, amount) SELECT $2, $24, p.id % {shards}, $25 FROM p WHERE $25 <> 0 \
                   ON CONFLICT (link_id, day, shard) DO UPDATE SET amount = link_daily_shards.amount + excluded.amount), \
             c AS (INSERT INTO link_counters {COUNTER_COLUMNS} SELECT $2, p.id % {shards}, $26, $27, $28, $29, $30 FROM p {ADD_COUNTERS}) \
             SELECT (SELECT id FROM p), CASE WHEN EXISTS (SELECT 1 FROM open) THEN {YES} ELSE {NO} END, \
             CASE WHEN EXISTS (SELECT 1 FROM links WHERE id = $2 AND {takes_payments}) THEN {YES} ELSE {NO} END"
        ),
        // The payment's fresh public id ($1) finds its row in the later
        // statements; a repeated token inserts none, and so nothing else.
        Backend::Sqlite => format!(
            "INSERT INTO payments {NEW_PAYMENT_COLUMNS} SELECT {values} WHERE EXISTS (SELECT 1 FROM links WHERE id = $2 AND {open}) \
             ON CONFLICT (idempotency_token) DO NOTHING; \
             INSERT INTO payment_events {EVENT_COLUMNS} \
             SELECT id, 'created', NULL, 'pending', NULL, $6, $18 FROM payments WHERE public_id = $1 \
             UNION ALL SELECT id, $22, 'pending', $7, NULL, $23, $18 FROM payments WHERE public_id = $1; \
             INSERT INTO link_daily_shards (link_id, day, shard, amount) SELECT $2, $24, id % {shards}, $25 FROM payments \
             WHERE public_id = $1 AND $25 <> 0 \
             ON CONFLICT (link_id, day, shard) DO UPDATE SET amount = link_daily_shards.amount + excluded.amount; \
             INSERT INTO link_counters {COUNTER_COLUMNS} SELECT $2, id % {shards}, $26, $27, $28, $29, $30 FROM payments \
             WHERE public_id = $1 {ADD_COUNTERS}; \
             SELECT (SELECT id FROM payments WHERE public_id = $1), \
             CASE WHEN EXISTS (SELECT 1 FROM links WHERE id = $2 AND {open}) THEN {YES} ELSE {NO} END, \
             CASE WHEN EXISTS (SELECT 1 FROM links WHERE id = $2 AND {takes_payments}) THEN {YES} ELSE {NO} END"
        ),
    };
    let query = bind_first(sqlx::query(&sql), first);
    let row = match db.backend() {
        Backend::Postgres => query.fetch_one(db.pool()).await?,
        Backend::Sqlite => {
            let mut tx = db.begin().await?;
            // Every statement's results: a fetch of one row stops at the first statement.
            let row = query.fetch_all(&mut *tx).await?.pop().ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            row
        }
    };
    AtOnce::read(&row, 0)
}

// Truth values both backends hand back alike (through `Any`).
const YES: &str = "CAST(1 AS BIGINT)";
const NO: &str = "CAST(0 AS BIGINT)";

impl AtOnce {
    /// The outcome from a row's columns `at..at + 3`: the new payment's id
    /// (none if nothing was written), whether the link took this attempt
    /// ([`YES`]/[`NO`]), whether it takes payments at all.
    fn read(row: &sqlx::any::AnyRow, at: usize) -> AppResult<AtOnce> {
        let flag = |i: usize| row.try_get::<i64, _>(at + i).map(|v| v == 1);
        Ok(match (row.try_get::<Option<i64>, _>(at)?, flag(1)?, flag(2)?) {
            (Some(id), _, _) => AtOnce::Written(id),
            (None, true, _) => AtOnce::Repeat,
            (None, false, false) => AtOnce::LinkClosed,
            (None, false, true) => AtOnce::LinkLimited,
        })
    }
}

/// Shards of a link's counters (see migration 0011): concurrent payments of
/// one link mostly update different rows.
pub const COUNTER_SHARDS: i64 = 16;

fn shard_of(payment_id: i64) -> i64 {
    payment_id.rem_euclid(COUNTER_SHARDS)
}

/// Adds `amount` to link `link_id`'s sales of `day` (the chart), in payment `payment_id`'s shard.
async fn add_daily(tx: &mut Tx, link_id: i64, payment_id: i64, day: i64, amount: i64) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO link_daily_shards (link_id, day, shard, amount) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (link_id, day, shard) DO UPDATE SET amount = link_daily_shards.amount + excluded.amount",
    )
    .bind(link_id)
    .bind(day)
    .bind(shard_of(payment_id))
    .bind(amount)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn same_link(payment: Payment, link: &CheckoutLink) -> AppResult<Payment> {
    if payment.view.link_id == link.id {
        Ok(payment)
    } else {
        Err(AppError::BadRequest)
    }
}

type Tx = super::db::WriteTx;

/// Adds `delta` to payment `payment_id`'s shard of link `link_id`'s counters.
async fn add_stats(tx: &mut Tx, link_id: i64, payment_id: i64, delta: SalesStats) -> AppResult<()> {
    if delta == SalesStats::ZERO {
        return Ok(());
    }
    sqlx::query(&format!("INSERT INTO link_counters {COUNTER_COLUMNS} VALUES ($1, $2, 0, $3, $4, $5, $6) {ADD_COUNTERS}"))
        .bind(link_id)
        .bind(shard_of(payment_id))
        .bind(delta.captured_amount)
        .bind(delta.captured_payments)
        .bind(delta.pending_payments)
        .bind(delta.refunded_payments)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

const COUNTER_COLUMNS: &str =
    "(link_id, shard, captured_count, sales_captured_amount, sales_captured_payments, sales_pending_payments, sales_refunded_payments)";
const ADD_COUNTERS: &str = "ON CONFLICT (link_id, shard) DO UPDATE SET captured_count = link_counters.captured_count + excluded.captured_count, \
     sales_captured_amount = link_counters.sales_captured_amount + excluded.sales_captured_amount, \
     sales_captured_payments = link_counters.sales_captured_payments + excluded.sales_captured_payments, \
     sales_pending_payments = link_counters.sales_pending_payments + excluded.sales_pending_payments, \
     sales_refunded_payments = link_counters.sales_refunded_payments + excluded.sales_refunded_payments";

/// Counts capture `payment_id` on its link (usage count and `delta`) if the
/// link still takes payments (`enforce_link`); `false`, with nothing written,
/// when it does not.
///
/// A link without a usage limit is read under a shared lock (a deactivation
/// waits for this capture's commit; a capture after it sees it) and counted
/// in the payment's shard, so its captures do not queue for one row. A link
/// with a limit is counted on its own row in one guarded statement: its
/// captures take turns, which is what holding the limit takes. Setting a
/// limit moves the shards' counts onto the row (`links::update`), so for a
/// limited link that row holds the whole count. `limited`: whether the
/// caller saw a limit (the statement to try first; the other follows if the
/// limit changed meanwhile).
#[allow(clippy::too_many_arguments)]
async fn count_capture(tx: &mut Tx, link_id: i64, payment_id: i64, delta: SalesStats, now: i64, enforce_link: bool, limited: bool, uses_unit: bool) -> AppResult<bool> {
    // An unwanted capture (refunded automatically) takes no unit of the limit.
    let uses = i64::from(uses_unit);
    // `now` is bound last, as `$n`, only when the link's state is enforced.
    let takes_payments = |n: u8| if enforce_link { format!("AND status = 'active' AND (expires_at IS NULL OR expires_at > ${n})") } else { String::new() };
    for on_link_row in if limited { [true, false] } else { [false, true] } {
        let query = if on_link_row {
            let limit = if enforce_link { "AND captured_count < usage_limit" } else { "" };
            format!("UPDATE links SET captured_count = captured_count + {uses} WHERE id = $1 AND usage_limit IS NOT NULL {limit} {}", takes_payments(2))
        } else {
            format!(
                "INSERT INTO link_counters {COUNTER_COLUMNS} SELECT id, $2, {uses}, $3, $4, $5, $6 FROM links \
                 WHERE id = $1 AND usage_limit IS NULL {}{} {ADD_COUNTERS}",
                takes_payments(7),
                tx.lock(RowLock::Share)
            )
        };
        let mut statement = sqlx::query(&query).bind(link_id);
        if !on_link_row {
            statement = statement
                .bind(shard_of(payment_id))
                .bind(delta.captured_amount)
                .bind(delta.captured_payments)
                .bind(delta.pending_payments)
                .bind(delta.refunded_payments);
        }
        let statement = if enforce_link { statement.bind(now) } else { statement };
        if statement.execute(&mut **tx).await?.rows_affected() == 1 {
            if on_link_row {
                add_stats(tx, link_id, payment_id, delta).await?;
            }
            return Ok(true);
        }
    }
    Ok(false)
}

/// Reserves one of link `link_id`'s units for live attempt `payment_id`
/// while its KOMOJU session is open: the capture KOMOJU settles later is not
/// ours to refuse, so the limit is held here, when the session is made.
/// `false`, with nothing written, when the link takes no payment now or
/// every unit it has left is captured or reserved. One guarded statement on
/// the link's row (where a limited link keeps its whole count): concurrent
/// starts take turns, so N units take at most N reservations.
async fn reserve_unit(tx: &mut Tx, link_id: i64, payment_id: i64, now: i64) -> AppResult<bool> {
    let reserved = sqlx::query(
        "UPDATE links SET reserved_count = reserved_count + 1 WHERE id = $1 AND usage_limit IS NOT NULL          AND captured_count + reserved_count < usage_limit AND status = 'active' AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(link_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if reserved.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE payments SET holds_unit = 1 WHERE id = $1").bind(payment_id).execute(&mut **tx).await?;
    Ok(true)
}

/// Whether link `id` takes payments at `now`, its limit aside (telling "all
/// reserved" from "closed").
async fn link_takes_payments(db: &Db, id: i64, now: i64) -> AppResult<bool> {
    let row = sqlx::query("SELECT 1 FROM links WHERE id = $1 AND status = 'active' AND (expires_at IS NULL OR expires_at > $2) AND captured_count < COALESCE(usage_limit, captured_count + 1)")
        .bind(id)
        .bind(now)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.is_some())
}

/// Whether link `link_id` would refuse a capture the provider settled (live
/// money, paid through a session opened earlier), read under the link's row
/// lock until the commit. An attempt that holds a reserved unit takes it;
/// one that holds none comes after every unit reserved by others.
async fn unwanted_capture(tx: &mut Tx, link_id: i64, holds_unit: bool, now: i64) -> AppResult<Option<UnwantedCapture>> {
    let row = sqlx::query(&format!("SELECT status, expires_at, usage_limit, captured_count, reserved_count FROM links WHERE id = $1{}", tx.lock(RowLock::Update)))
        .bind(link_id)
        .fetch_one(&mut **tx)
        .await?;
    let status = crate::domain::link::LinkStatus::parse(&row.try_get::<String, _>("status")?).ok_or_else(|| anyhow::anyhow!("corrupt link status"))?;
    let usage_limit: Option<i64> = row.try_get("usage_limit")?;
    // A limited link's row holds its whole count; without a limit the count decides nothing.
    let captured = match usage_limit {
        Some(_) => row.try_get::<i64, _>("captured_count")? + 1 + if holds_unit { 0 } else { row.try_get::<i64, _>("reserved_count")? },
        None => 1,
    };
    Ok(UnwantedCapture::judge(status, row.try_get("expires_at")?, usage_limit, captured, now))
}

#[allow(clippy::too_many_arguments)]
async fn append_event(
    tx: &mut Tx,
    payment_id: i64,
    kind: &str,
    from: Option<PaymentStatus>,
    to: PaymentStatus,
    amount: Option<i64>,
    detail: Option<&str>,
    now: i64,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO payment_events (payment_id, kind, from_status, to_status, amount, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(payment_id)
    .bind(kind.to_owned())
    .bind(from.map(|s| s.as_str().to_owned()))
    .bind(to.as_str())
    .bind(amount)
    .bind(detail.map(str::to_owned))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Facts a transition records besides the state.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub konbini_number: Option<String>,
    pub deadline_at: Option<i64>,
    pub provider_ref: Option<String>,
    /// Free text for the events log (e.g. a refund reason).
    pub note: Option<String>,
    /// The provider already moved the money (live mode): a capture is
    /// recorded even if the link stopped taking payments meanwhile, because
    /// hiding a real payment would be worse (the merchant can refund it).
    pub provider_settled: bool,
}

/// Moves payment `id` by `transition`. A capture refused because the link no
/// longer takes payments turns into a failure with `LinkUnavailable`.
pub async fn transition(db: &Db, id: i64, transition: Transition, facts: Facts) -> AppResult<Payment> {
    let mut transition = transition;
    // Compare-and-set: if another request moved the payment between our read
    // and our write, read again and re-decide.
    for _ in 0..8 {
        let current = by_id(db, id).await?;
        let before = current.state()?;
        let mut tx = db.begin().await?;
        match apply(&mut tx, &current, &before, &transition, &facts, now_ms()).await? {
            Applied::Done { notify } => {
                tx.commit().await?;
                if notify {
                    super::merchant_webhooks::wake();
                }
                if matches!(transition, Transition::Capture | Transition::LateCapture) {
                    // The usage count moved: a page may now have to say "sold out".
                    captured_on(current.view.link_id);
                }
                return by_id(db, id).await;
            }
            Applied::Moved => tx.rollback().await?,
            Applied::LinkRefused => {
                tx.rollback().await?;
                transition = Transition::Fail { reason: DeclineReason::LinkUnavailable };
            }
        }
    }
    Err(AppError::Conflict("payment is changing concurrently".into()))
}

#[derive(Debug, PartialEq, Eq)]
enum Applied {
    /// Committable; `notify`: webhook events were written.
    Done { notify: bool },
    /// The payment is no longer in state `before`: roll back, read again.
    Moved,
    /// A capture the link no longer takes (limit reached, inactive, expired);
    /// nothing was written.
    LinkRefused,
}

/// One transition inside `tx`, from the state the caller read (`before`):
/// the statistics, the compare-and-set update of the payment, its event and
/// the merchant's webhook events.
async fn apply(tx: &mut Tx, current: &Payment, before: &PaymentState, transition: &Transition, facts: &Facts, now: i64) -> AppResult<Applied> {
    let (id, link_id) = (current.id, current.view.link_id);
    let after = before.apply(transition).map_err(|e| AppError::Conflict(e.to_string()))?;
    let delta = SalesStats::delta(Some(before), &after);
    let capture = matches!(transition, Transition::Capture | Transition::LateCapture);
    // Live money the link would not have taken: recorded (it uses no unit), then refunded.
    // (A unit is held only while the attempt is open: an ended one gave it back.)
    let holds_unit = current.holds_unit && before.status().is_open();
    let unwanted = if capture && facts.provider_settled { unwanted_capture(tx, link_id, holds_unit, now).await? } else { None };
    // The link's counters first: a refused capture has then written nothing.
    if capture {
        if !count_capture(tx, link_id, id, delta, now, !facts.provider_settled, false, unwanted.is_none()).await? {
            return Ok(Applied::LinkRefused);
        }
    } else {
        add_stats(tx, link_id, id, delta).await?;
    }
    // The attempt's reserved unit comes back once it ends (a capture used it).
    if holds_unit && !after.status().is_open() {
        sqlx::query("UPDATE links SET reserved_count = reserved_count - 1 WHERE id = $1").bind(link_id).execute(&mut **tx).await?;
    }

    let reason = match transition {
        Transition::Fail { reason } => Some(reason.as_str().to_owned()),
        _ => None,
    };
    let moved = sqlx::query(
        "UPDATE payments SET status = $1, refunded_amount = $2, updated_at = $3, \
         captured_at = CASE WHEN $4 THEN $3 ELSE captured_at END, \
         failure_reason = COALESCE($5, failure_reason), konbini_number = COALESCE($6, konbini_number), \
         deadline_at = COALESCE($7, deadline_at), provider_ref = COALESCE($8, provider_ref), \
         unwanted = COALESCE($12, unwanted), auto_refund_next_at = COALESCE($13, auto_refund_next_at) \
         WHERE id = $9 AND status = $10 AND refunded_amount = $11 RETURNING captured_at",
    )
    .bind(after.status().as_str())
    .bind(after.refunded())
    .bind(now)
    .bind(after.status() == PaymentStatus::Captured && before.status() != PaymentStatus::Captured)
    .bind(reason.clone())
    .bind(facts.konbini_number.clone())
    .bind(facts.deadline_at)
    .bind(facts.provider_ref.clone())
    .bind(id)
    .bind(before.status().as_str())
    .bind(before.refunded())
    .bind(unwanted.map(|u| u.as_str().to_owned()))
    .bind(unwanted.map(|_| now))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(moved) = moved else {
        return Ok(Applied::Moved);
    };
    // The chart: money moved on the day the payment was captured.
    if delta.captured_amount != 0 {
        let captured_at: Option<i64> = moved.try_get(0)?;
        add_daily(tx, link_id, id, crate::domain::transactions::sales_day(captured_at.unwrap_or(now)), delta.captured_amount).await?;
    }
    let amount = match transition {
        Transition::Refund { amount } => Some(*amount),
        _ => None,
    };
    let detail = reason.or_else(|| facts.note.clone());
    append_event(tx, id, transition.kind(), Some(before.status()), after.status(), amount, detail.as_deref(), now).await?;
    if let Some(unwanted) = unwanted {
        append_event(tx, id, "auto_refund_due", Some(after.status()), after.status(), None, Some(unwanted.as_str()), now).await?;
    }
    let events = EventType::of_transition(transition, after.status());
    let notify = outbox::payment_events(tx, current.account_id, current.view.mode, id, &events, now).await?;
    Ok(Applied::Done { notify })
}

/// Live attempts still waiting for the customer past their deadline (their
/// KOMOJU session's lifetime), oldest first: [`super::komoju::end_stale`]
/// asks KOMOJU about each, then ends it.
pub async fn live_attempts_due(db: &Db, now: i64, limit: i64) -> AppResult<Vec<i64>> {
    ids_due(db, "SELECT id FROM payments WHERE method = 'komoju' AND status = 'pending' AND deadline_at <= $1 ORDER BY deadline_at LIMIT $2", now, limit).await
}

/// Unwanted captures whose automatic refund is due.
pub async fn auto_refunds_due(db: &Db, now: i64, limit: i64) -> AppResult<Vec<i64>> {
    ids_due(db, "SELECT id FROM payments WHERE auto_refund_next_at <= $1 ORDER BY auto_refund_next_at LIMIT $2", now, limit).await
}

/// The payment ids `select` ($1: now, $2: how many) finds.
async fn ids_due(db: &Db, select: &str, now: i64, limit: i64) -> AppResult<Vec<i64>> {
    let rows = sqlx::query(select).bind(now).bind(limit).fetch_all(db.pool()).await?;
    rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
}

/// Automatic refunds are tried this many times (backing off up to six
/// hours, about a day and a half in all) before the merchant is left to act.
pub const AUTO_REFUND_TRIES: i64 = 12;

/// Payment `id`'s automatic refund is over: done (`failure` = `None`), or
/// given up with KOMOJU's reason, recorded in its history for the merchant.
pub async fn auto_refund_over(db: &Db, id: i64, failure: Option<&str>) -> AppResult<()> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let row = sqlx::query("UPDATE payments SET auto_refund_next_at = NULL WHERE id = $1 AND auto_refund_next_at IS NOT NULL RETURNING status")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if let (Some(row), Some(failure)) = (row, failure) {
        let status = PaymentStatus::parse(&row.try_get::<String, _>(0)?).ok_or_else(|| anyhow::anyhow!("corrupt payment status"))?;
        append_event(&mut tx, id, "auto_refund_failed", Some(status), status, None, Some(failure), now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Payment `id`'s automatic refund could not reach KOMOJU: tried again
/// later (1, 2, 4 … minutes, at most six hours apart), then given up.
pub async fn auto_refund_later(db: &Db, id: i64) -> AppResult<()> {
    let now = now_ms();
    let Some(row) = sqlx::query("SELECT auto_refund_tries FROM payments WHERE id = $1 AND auto_refund_next_at IS NOT NULL")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(());
    };
    let tries = row.try_get::<i64, _>(0)? + 1;
    if tries >= AUTO_REFUND_TRIES {
        return auto_refund_over(db, id, Some("KOMOJU could not be reached")).await;
    }
    let wait_ms = (60_000i64 << (tries - 1).min(20)).min(6 * 60 * 60 * 1000);
    sqlx::query("UPDATE payments SET auto_refund_tries = $1, auto_refund_next_at = $2 WHERE id = $3 AND auto_refund_next_at IS NOT NULL")
        .bind(tries)
        .bind(now + wait_ms)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The payment's history, oldest first.
pub async fn events(db: &Db, id: i64) -> AppResult<Vec<PaymentEvent>> {
    let rows = sqlx::query(
        "SELECT kind, from_status, to_status, amount, detail, created_at FROM payment_events WHERE payment_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let corrupt = || AppError::from(anyhow::anyhow!("corrupt event row"));
            Ok(PaymentEvent {
                kind: row.try_get("kind")?,
                from_status: row.try_get::<Option<String>, _>("from_status")?.as_deref().and_then(PaymentStatus::parse),
                to_status: PaymentStatus::parse(&row.try_get::<String, _>("to_status")?).ok_or_else(corrupt)?,
                amount: row.try_get("amount")?,
                detail: row.try_get("detail")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// Ends open attempts whose deadline passed. Safe on several servers at once:
/// each expiry is a compare-and-set, so a payment expires exactly once.
pub async fn expire_due(db: &Db, now: i64) -> AppResult<usize> {
    let ids: Vec<i64> = sqlx::query(
        "SELECT id FROM payments WHERE status IN ('pending', 'authorized') AND deadline_at <= $1 AND method <> 'komoju' \
         ORDER BY deadline_at LIMIT 500",
    )
    .bind(now)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|row| row.try_get(0))
    .collect::<Result<_, _>>()?;
    let mut expired = 0;
    for id in ids {
        match transition(db, id, Transition::Expire, Facts::default()).await {
            Ok(_) => expired += 1,
            // Paid or expired meanwhile (another server, a webhook): nothing to do.
            Err(AppError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired)
}

/// Runs [`expire_due`] every `every` until the process ends, and forgets
/// API idempotency answers past their 24 hours and webhook events past 30 days.
pub fn spawn_expiry_job(db: Db, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match expire_due(&db, now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "expired unfinished payment attempts"),
                Err(e) => tracing::warn!(error = %e, "expiry job failed; retrying next tick"),
            }
            if let Err(e) = super::api::purge_idempotency_keys(&db, now_ms()).await {
                tracing::warn!(error = %e, "could not purge old idempotency keys; retrying next tick");
            }
            if let Err(e) = super::merchant_webhooks::purge(&db, now_ms()).await {
                tracing::warn!(error = %e, "could not purge old webhook events; retrying next tick");
            }
            if let Err(e) = super::auth::purge_sessions(&db, now_ms()).await {
                tracing::warn!(error = %e, "could not purge ended sessions; retrying next tick");
            }
            if let Err(e) = super::throttle::purge(&db).await {
                tracing::warn!(error = %e, "could not purge old attempt counters; retrying next tick");
            }
        }
    });
}

/// A disagreement found by [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub link_id: i64,
    pub what: &'static str,
    pub stored: i64,
    pub recomputed: i64,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "link {}: {} is {} but the payments say {}", self.link_id, self.what, self.stored, self.recomputed)
    }
}

/// A link's figures recomputed from its payments rows, as the stored
/// statistics define them (columns `amount`, `captured`, `pending`,
/// `refunded`, `used`): for `verify`, and for the benchmark's naive summary
/// and its seeding of counter rows. Follow it with `FROM payments …`.
pub const FIGURES_OF_PAYMENTS: &str = "\
    CAST(COALESCE(SUM(CASE WHEN status = 'captured' THEN amount - refunded_amount ELSE 0 END), 0) AS BIGINT) AS amount, \
    CAST(COALESCE(SUM(CASE WHEN status = 'captured' THEN 1 ELSE 0 END), 0) AS BIGINT) AS captured, \
    CAST(COALESCE(SUM(CASE WHEN status IN ('pending', 'authorized', 'failed', 'expired', 'cancelled') THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending, \
    CAST(COALESCE(SUM(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END), 0) AS BIGINT) AS refunded, \
    CAST(COALESCE(SUM(CASE WHEN captured_at IS NOT NULL AND unwanted IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS used, \
    CAST(COALESCE(SUM(CASE WHEN holds_unit <> 0 AND status IN ('pending', 'authorized') THEN 1 ELSE 0 END), 0) AS BIGINT) AS reserved";

/// Recomputes every link's statistics and usage count from the payments
/// table and compares them with the stored figures; also checks that each
/// payment's last event names its current status.
pub async fn verify(db: &Db) -> AppResult<Vec<Mismatch>> {
    let rows = sqlx::query(&format!(
        "SELECT l.id, s.sales_captured_amount, s.sales_captured_payments, s.sales_pending_payments, \
         s.sales_refunded_payments, {USAGE_COUNT}, \
         COALESCE(r.amount, 0) AS r_amount, COALESCE(r.captured, 0) AS r_captured, COALESCE(r.pending, 0) AS r_pending, \
         COALESCE(r.refunded, 0) AS r_refunded, COALESCE(r.used, 0) AS r_used, l.reserved_count, COALESCE(r.reserved, 0) AS r_reserved \
         FROM links l JOIN ({SALES_BY_LINK} GROUP BY l.id) s ON s.link_id = l.id LEFT JOIN (SELECT link_id, \
         {FIGURES_OF_PAYMENTS} FROM payments GROUP BY link_id) r ON r.link_id = l.id ORDER BY l.id",
        USAGE_COUNT = super::links::USAGE_COUNT
    ))
    .fetch_all(db.pool())
    .await?;
    let mut mismatches = Vec::new();
    for row in &rows {
        let link_id: i64 = row.try_get("id")?;
        for (what, stored, recomputed) in [
            ("captured amount", "sales_captured_amount", "r_amount"),
            ("captured payments", "sales_captured_payments", "r_captured"),
            ("pending payments", "sales_pending_payments", "r_pending"),
            ("refunded payments", "sales_refunded_payments", "r_refunded"),
            ("usage count", "captured_count", "r_used"),
            ("reserved units", "reserved_count", "r_reserved"),
        ] {
            let stored: i64 = row.try_get(stored)?;
            let recomputed: i64 = row.try_get(recomputed)?;
            if stored != recomputed {
                mismatches.push(Mismatch { link_id, what, stored, recomputed });
            }
        }
    }
    let bad_history = sqlx::query(
        "SELECT p.link_id, p.id FROM payments p JOIN payment_events e ON e.id = \
         (SELECT MAX(id) FROM payment_events WHERE payment_id = p.id) WHERE e.to_status <> p.status",
    )
    .fetch_all(db.pool())
    .await?;
    for row in &bad_history {
        mismatches.push(Mismatch { link_id: row.try_get(0)?, what: "payment history", stored: row.try_get(1)?, recomputed: 0 });
    }
    let mut days: std::collections::BTreeMap<(i64, i64), (i64, i64)> = Default::default();
    for row in sqlx::query("SELECT link_id, day, CAST(SUM(amount) AS BIGINT) FROM link_daily_shards GROUP BY link_id, day").fetch_all(db.pool()).await? {
        days.entry((row.try_get(0)?, row.try_get(1)?)).or_default().0 = row.try_get(2)?;
    }
    let recomputed = sqlx::query(
        "SELECT link_id, (captured_at + 32400000) / 86400000 AS day, CAST(SUM(amount - refunded_amount) AS BIGINT) \
         FROM payments WHERE captured_at IS NOT NULL AND status IN ('captured', 'refunded') \
         GROUP BY link_id, (captured_at + 32400000) / 86400000",
    )
    .fetch_all(db.pool())
    .await?;
    for row in recomputed {
        days.entry((row.try_get(0)?, row.try_get(1)?)).or_default().1 = row.try_get(2)?;
    }
    for ((link_id, _), (stored, recomputed)) in days {
        if stored != recomputed {
            mismatches.push(Mismatch { link_id, what: "daily sales", stored, recomputed });
        }
    }
    Ok(mismatches)
}

/// Every link's Total Sales Summary figures: the sums of its counter shards.
const SALES_BY_LINK: &str = "SELECT l.id AS link_id, \
     CAST(COALESCE(SUM(c.sales_captured_amount), 0) AS BIGINT) AS sales_captured_amount, \
     CAST(COALESCE(SUM(c.sales_captured_payments), 0) AS BIGINT) AS sales_captured_payments, \
     CAST(COALESCE(SUM(c.sales_pending_payments), 0) AS BIGINT) AS sales_pending_payments, \
     CAST(COALESCE(SUM(c.sales_refunded_payments), 0) AS BIGINT) AS sales_refunded_payments \
     FROM links l LEFT JOIN link_counters c ON c.link_id = l.id";

/// The link's Total Sales Summary as stored: at most [`COUNTER_SHARDS`] rows
/// summed, however many payments it has.
pub async fn sales(db: &Db, link_id: i64) -> AppResult<SalesStats> {
    let row = sqlx::query(&format!("{SALES_BY_LINK} WHERE l.id = $1 GROUP BY l.id"))
        .bind(link_id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(SalesStats {
        captured_amount: row.try_get("sales_captured_amount")?,
        captured_payments: row.try_get("sales_captured_payments")?,
        pending_payments: row.try_get("sales_pending_payments")?,
        refunded_payments: row.try_get("sales_refunded_payments")?,
    })
}

/// How many of a link's payments are in each "started but not completed"
/// status, the summary's "pending payments" broken down (counted on demand,
/// when the merchant opens the breakdown).
pub async fn incomplete_by_status(db: &Db, link_id: i64) -> AppResult<Vec<(PaymentStatus, i64)>> {
    let wanted: Vec<PaymentStatus> = PaymentStatus::ALL.into_iter().filter(|s| s.is_incomplete()).collect();
    let placeholders: Vec<String> = (0..wanted.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM payments WHERE link_id = $1 AND status IN ({}) GROUP BY status",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(link_id);
    for status in &wanted {
        query = query.bind(status.as_str());
    }
    let mut counts: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for row in query.fetch_all(db.pool()).await? {
        counts.insert(row.try_get("status")?, row.try_get("n")?);
    }
    Ok(wanted.into_iter().map(|s| (s, counts.get(s.as_str()).copied().unwrap_or(0))).collect())
}

/// What a merchant can do to one of their payments from the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantAction {
    /// Gives back `amount` (as typed, in major units; empty = everything left).
    Refund { amount: String, reason: String },
    /// Test mode: the konbini customer paid at the store.
    MarkPaid,
    /// Test mode: the deadline passed.
    Expire,
    /// Test mode: the card holder disputed the charge.
    ChargeBack,
}

/// The merchant's payment `public_id` in their current mode; anything else is "not found".
pub async fn owned(db: &Db, account: &super::auth::Account, public_id: &str) -> AppResult<Payment> {
    let payment = by_public_id(db, public_id).await?;
    if payment.account_id != account.id || payment.view.mode != account.mode {
        return Err(AppError::NotFound);
    }
    Ok(payment)
}

pub async fn merchant_action(
    db: &Db,
    komoju: &super::komoju::Komoju,
    account: &super::auth::Account,
    public_id: &str,
    action: MerchantAction,
) -> AppResult<Payment> {
    use crate::domain::fields::FieldError;
    use crate::domain::Money;
    account.require_merchant()?;
    let payment = owned(db, account, public_id).await?;
    let test_only = |t: Transition| {
        if payment.view.mode == Mode::Test {
            Ok(t)
        } else {
            Err(AppError::Forbidden)
        }
    };
    let (transition, note) = match action {
        MerchantAction::Refund { amount, reason } => {
            let state = payment.state()?;
            let remaining = state.refundable();
            if remaining == 0 {
                return Err(AppError::Conflict("nothing left to refund".into()));
            }
            let amount = match amount.trim() {
                "" => remaining,
                text => Money::parse(text, payment.view.currency)
                    .map_err(|e| AppError::invalid("amount", e.field_error(payment.view.currency)))?
                    .minor(),
            };
            if amount > remaining {
                let max = crate::domain::money::format_minor(remaining, payment.view.currency, account.locale);
                return Err(AppError::invalid("amount", FieldError::AmountAboveMaximum { max }));
            }
            let reason = crate::domain::fields::optional_text(&reason, 500, false).map_err(|e| AppError::invalid("reason", e))?;
            if payment.view.mode == Mode::Live {
                return live_refund(db, komoju, &payment, &state, amount, reason).await;
            }
            (Transition::Refund { amount }, reason)
        }
        MerchantAction::MarkPaid if payment.view.method == Method::Konbini => (test_only(Transition::Capture)?, None),
        MerchantAction::MarkPaid => return Err(AppError::Conflict("only konbini payments are paid at a store".into())),
        MerchantAction::Expire => (test_only(Transition::Expire)?, None),
        MerchantAction::ChargeBack => (test_only(Transition::ChargeBack)?, None),
    };
    transition_with_note(db, payment.id, transition, note).await
}

/// Live refunds are KOMOJU's to make; our record follows its answer.
async fn live_refund(
    db: &Db,
    komoju: &super::komoju::Komoju,
    payment: &Payment,
    state: &PaymentState,
    amount: i64,
    reason: Option<String>,
) -> AppResult<Payment> {
    let credentials = komoju
        .credentials(db, payment.account_id)
        .await?
        .ok_or_else(|| AppError::Conflict("no KOMOJU account is connected".into()))?;
    let provider_payment = payment
        .provider_ref
        .as_deref()
        .ok_or_else(|| AppError::Conflict("KOMOJU has not reported this payment yet".into()))?;
    // A double click sends the same key, so KOMOJU refunds once.
    let key = format!("refund-{}-{}-{}", payment.view.public_id, state.refunded(), amount);
    let theirs = komoju.refund(&credentials.secret_key, provider_payment, amount, reason.as_deref(), &key).await?;
    let note = reason.unwrap_or_else(|| "refund".to_owned());
    super::komoju::follow(db, payment, &theirs, &note).await
}

async fn transition_with_note(db: &Db, id: i64, t: Transition, note: Option<String>) -> AppResult<Payment> {
    transition(db, id, t, Facts { note, ..Facts::default() }).await
}

/// A link's payments, newest first (the link detail page; the full
/// Transactions page has its own query).
pub async fn recent_for_link(db: &Db, link_id: i64, limit: i64) -> AppResult<Vec<PaymentView>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS}, p.account_id FROM payments p JOIN links l ON l.id = p.link_id \
         WHERE p.link_id = $1 ORDER BY p.created_at DESC, p.id DESC LIMIT $2"
    ))
    .bind(link_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|row| payment(row).map(|p| p.view)).collect()
}
