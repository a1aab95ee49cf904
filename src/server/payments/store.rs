//! Reading and naming payments: the row, its mapping, the lookups and the
//! history. Every write goes through `start` (new attempts) or `transition`.

use super::*;

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

/// A row of [`COLUMNS`] (plus `account_id`) as the database holds it.
#[derive(sqlx::FromRow)]
pub(crate) struct PaymentRow {
    id: i64,
    account_id: i64,
    public_id: String,
    link_id: i64,
    link_slug: String,
    link_name: String,
    #[sqlx(try_from = "String")]
    mode: Mode,
    #[sqlx(try_from = "String")]
    method: Method,
    #[sqlx(try_from = "String")]
    status: PaymentStatus,
    amount: i64,
    refunded_amount: i64,
    #[sqlx(try_from = "String")]
    currency: crate::domain::Currency,
    #[sqlx(try_from = "String")]
    locale: Locale,
    customer_email: Option<String>,
    customer_name: Option<String>,
    card_brand: Option<String>,
    card_last4: Option<String>,
    card_expiry: Option<String>,
    konbini_store: Option<String>,
    konbini_number: Option<String>,
    failure_reason: Option<String>,
    deadline_at: i64,
    created_at: i64,
    captured_at: Option<i64>,
    provider_ref: Option<String>,
    provider_session: Option<String>,
    provider_url: Option<String>,
    holds_unit: i64,
    unwanted: Option<String>,
    auto_refund_next_at: Option<i64>,
}

impl From<PaymentRow> for Payment {
    fn from(row: PaymentRow) -> Payment {
        let card = match (row.card_brand, row.card_last4) {
            (Some(brand), Some(last4)) => Some(CardSummary { brand: CardBrand::parse(&brand), last4, expiry: row.card_expiry.unwrap_or_default() }),
            _ => None,
        };
        Payment {
            id: row.id,
            account_id: row.account_id,
            provider_ref: row.provider_ref,
            provider_session: row.provider_session,
            provider_url: row.provider_url,
            holds_unit: row.holds_unit != 0,
            view: PaymentView {
                public_id: row.public_id,
                link_id: row.link_id,
                link_slug: row.link_slug,
                link_name: row.link_name,
                mode: row.mode,
                method: row.method,
                status: row.status,
                amount: row.amount,
                refunded_amount: row.refunded_amount,
                currency: row.currency,
                locale: row.locale,
                customer_email: row.customer_email,
                customer_name: row.customer_name,
                card,
                konbini_store: row.konbini_store.as_deref().and_then(KonbiniStore::parse),
                konbini_number: row.konbini_number,
                failure_reason: row.failure_reason.as_deref().and_then(DeclineReason::parse),
                deadline_at: row.deadline_at,
                created_at: row.created_at,
                captured_at: row.captured_at,
                unwanted: row.unwanted.as_deref().and_then(UnwantedCapture::parse),
                auto_refund_due: row.auto_refund_next_at.is_some(),
            },
        }
    }
}

pub(crate) fn payment(row: &sqlx::any::AnyRow) -> AppResult<Payment> {
    Ok(<PaymentRow as sqlx::FromRow<_>>::from_row(row)?.into())
}

/// How a payment is looked up.
pub(super) enum Key {
    Id(i64),
    PublicId(String),
    Token(String),
}

pub(super) async fn load(db: &Db, key: Key) -> AppResult<Option<Payment>> {
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

/// The payment's history, oldest first.
pub async fn events(db: &Db, id: i64) -> AppResult<Vec<PaymentEvent>> {
    let rows = sqlx::query("SELECT kind, from_status, to_status, amount, detail, created_at FROM payment_events WHERE payment_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|row| {
            let row = <EventRow as sqlx::FromRow<_>>::from_row(row)?;
            Ok(PaymentEvent {
                kind: row.kind,
                from_status: row.from_status.as_deref().and_then(PaymentStatus::parse),
                to_status: row.to_status,
                amount: row.amount,
                detail: row.detail,
                created_at: row.created_at,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct EventRow {
    kind: String,
    from_status: Option<String>,
    #[sqlx(try_from = "String")]
    to_status: PaymentStatus,
    amount: Option<i64>,
    detail: Option<String>,
    created_at: i64,
}

/// The merchant's payment `public_id` in their current mode; anything else is "not found".
pub async fn owned(db: &Db, account: &crate::server::auth::Merchant, public_id: &str) -> AppResult<Payment> {
    let payment = by_public_id(db, public_id).await?;
    if payment.account_id != account.id || payment.view.mode != account.mode {
        return Err(AppError::NotFound);
    }
    Ok(payment)
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

pub(super) type Tx = crate::server::db::WriteTx;

#[allow(clippy::too_many_arguments)]
pub(super) async fn append_event(
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
