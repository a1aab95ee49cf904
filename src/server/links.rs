//! Payment links: storage and the rules that need the database. Every
//! change arrives as a typed command (`NewLink`, `LinkPatch`) that the form
//! or the REST API parsed; nothing here reads text typed by a person.

use super::auth::Merchant;
use super::db::{now_ms, Db, RowLock, WriteTx};
use super::Ctx;
use crate::domain::fields::FieldError;
use crate::domain::link::{availability, ImageHash, LinkDetails, LinkPage, LinkPatch, LinkStatus, LinkView, NewLink};
use crate::domain::webhook::EventType;
use crate::domain::{LinkSlug, Money, ProductName};
use crate::error::{AppError, AppResult};

pub const PAGE_SIZE: i64 = 20;

use super::payments::usage_count;

const COLUMNS: &str = concat!(
    "l.id, l.slug, l.mode, l.name, l.description, l.amount, l.currency, l.language, l.status, \
     l.usage_limit, l.expires_at, l.created_at, l.reserved_count, i.sha256 AS image_sha, \
     (SELECT CAST(COALESCE(SUM(c.sales_captured_payments), 0) AS BIGINT) \
      FROM link_counters c WHERE c.link_id = l.id) AS captured_payments, ",
    usage_count!()
);
const FROM: &str = "links l LEFT JOIN images i ON i.id = l.image_id";

fn new_slug() -> LinkSlug {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the OS provides randomness");
    LinkSlug::from_random(bytes)
}

/// The link's own columns, as every reader of a link (the dashboard, the
/// checkout) selects them: one definition of the stored link.
#[derive(sqlx::FromRow)]
pub(crate) struct LinkColumns {
    pub id: i64,
    pub slug: String,
    #[sqlx(try_from = "String")]
    pub mode: crate::domain::Mode,
    pub name: String,
    pub description: String,
    pub amount: i64,
    #[sqlx(try_from = "String")]
    pub currency: crate::domain::Currency,
    #[sqlx(try_from = "String")]
    pub language: crate::domain::Locale,
    #[sqlx(try_from = "String")]
    pub status: LinkStatus,
    pub usage_limit: Option<i64>,
    pub expires_at: Option<i64>,
    /// The link row's own count of captures (see `payments::usage_count`).
    pub captured_count: i64,
    /// `images.sha256` of its image, if any.
    pub image_sha: Option<String>,
}

/// A row of [`COLUMNS`]: the link and the dashboard's figures.
#[derive(sqlx::FromRow)]
struct LinkRow {
    #[sqlx(flatten)]
    link: LinkColumns,
    created_at: i64,
    reserved_count: i64,
    captured_payments: i64,
}

impl LinkColumns {
    /// The stored link's details: what a [`LinkPatch`] applies to.
    fn details(&self) -> AppResult<LinkDetails> {
        let corrupt = || anyhow::anyhow!("link {} holds a value its form refuses", self.id);
        Ok(LinkDetails {
            name: ProductName::parse(&self.name).map_err(|_| corrupt())?,
            description: self.description.clone(),
            language: self.language,
            status: self.status,
            usage_limit: self.usage_limit,
            expires_at: self.expires_at,
            image: match &self.image_sha {
                Some(sha) => Some(ImageHash::parse(sha).ok_or_else(corrupt)?),
                None => None,
            },
        })
    }

    fn price(&self) -> AppResult<Money> {
        Money::from_minor(self.amount, self.currency).map_err(|e| anyhow::anyhow!("link {} has a bad price: {e:?}", self.id).into())
    }
}

fn view(row: &sqlx::any::AnyRow, public_url: &str, now: i64) -> AppResult<LinkView> {
    let row = <LinkRow as sqlx::FromRow<_>>::from_row(row)?;
    Ok(view_of(row, public_url, now))
}

fn view_of(LinkRow { link, created_at, reserved_count, captured_payments }: LinkRow, public_url: &str, now: i64) -> LinkView {
    LinkView {
        id: link.id,
        url: format!("{public_url}/pay/{}", link.slug),
        slug: link.slug,
        mode: link.mode,
        name: link.name,
        description: link.description,
        amount: link.amount,
        currency: link.currency,
        language: link.language,
        status: link.status,
        availability: availability(link.status, link.expires_at, link.usage_limit, link.captured_count, now),
        usage_limit: link.usage_limit,
        expires_at: link.expires_at,
        captured_count: link.captured_count,
        reserved_count,
        captured_payments,
        created_at,
        image_url: link.image_sha.map(|sha| super::images::url(&sha)),
    }
}

/// The only unique key a link can collide on is its name (slugs carry 128
/// random bits).
fn unique_name_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Creates a link in the merchant's current mode.
pub async fn create(ctx: Ctx<'_>, account: &Merchant, link: &NewLink) -> AppResult<LinkView> {
    let now = now_ms();
    let NewLink { price, details } = link;
    let image_id = image_id(ctx.db, account, details.image.as_ref()).await?;
    let result = sqlx::query_scalar::<_, i64>(
        "INSERT INTO links (account_id, mode, slug, name, name_key, description, amount, currency, language, status, \
         usage_limit, expires_at, image_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $13, $13) RETURNING id",
    )
    .bind(account.id)
    .bind(account.mode.as_str())
    .bind(new_slug().as_str().to_owned())
    .bind(details.name.as_str().to_owned())
    .bind(details.name.key())
    .bind(details.description.clone())
    .bind(price.minor())
    .bind(price.currency().code())
    .bind(details.language.code())
    .bind(details.status.as_str())
    .bind(details.usage_limit)
    .bind(details.expires_at)
    .bind(now)
    .bind(image_id)
    .fetch_one(ctx.db.pool())
    .await;
    match result {
        Ok(id) => get(ctx, account, id).await,
        Err(e) if unique_name_violation(&e) => Err(AppError::invalid("name", FieldError::NameTaken)),
        Err(e) => Err(e.into()),
    }
}

/// The image a link names (by content hash), which must be the merchant's own.
async fn image_id(db: &Db, account: &Merchant, image: Option<&ImageHash>) -> AppResult<Option<i64>> {
    match image {
        None => Ok(None),
        Some(sha) => super::images::owned(db, account.id, sha.as_str()).await?.map(Some).ok_or_else(|| AppError::invalid("image", FieldError::NotAllowed)),
    }
}

/// The merchant's link `id` in their current mode.
async fn fetch(db: &Db, account: &Merchant, id: i64) -> AppResult<LinkRow> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE l.id = $1 AND l.account_id = $2 AND l.mode = $3"))
        .bind(id)
        .bind(account.id)
        .bind(account.mode.as_str())
        .fetch_optional(db.pool())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(<LinkRow as sqlx::FromRow<_>>::from_row(&row)?)
}

/// The merchant's link `id` in their current mode; anything else is "not found".
pub async fn get(ctx: Ctx<'_>, account: &Merchant, id: i64) -> AppResult<LinkView> {
    Ok(view_of(fetch(ctx.db, account, id).await?, ctx.public_url, now_ms()))
}

/// Changes what `patch` names; the price cannot change (`Immutable`).
pub async fn update(ctx: Ctx<'_>, account: &Merchant, id: i64, patch: LinkPatch) -> AppResult<LinkView> {
    let current = fetch(ctx.db, account, id).await?.link;
    patch.check_price(current.price()?)?;
    let details = patch.apply(current.details()?);
    let image_id = image_id(ctx.db, account, details.image.as_ref()).await?;
    // The limit may not drop below what is already captured: checked in the
    // same statement so a concurrent capture cannot slip under it.
    let now = now_ms();
    let mut tx = ctx.db.begin().await?;
    if details.usage_limit.is_some() {
        gather_usage_count(&mut tx, account, id).await?;
    }
    let result = sqlx::query(
        "UPDATE links SET name = $1, name_key = $2, description = $3, language = $4, status = $5, \
         usage_limit = $6, expires_at = $7, updated_at = $8, image_id = $12 \
         WHERE id = $9 AND account_id = $10 AND mode = $11 AND ($6 IS NULL OR captured_count <= $6)",
    )
    .bind(details.name.as_str().to_owned())
    .bind(details.name.key())
    .bind(details.description.clone())
    .bind(details.language.code())
    .bind(details.status.as_str())
    .bind(details.usage_limit)
    .bind(details.expires_at)
    .bind(now)
    .bind(id)
    .bind(account.id)
    .bind(account.mode.as_str())
    .bind(image_id)
    .execute(&mut *tx)
    .await;
    match result {
        Ok(r) if r.rows_affected() == 1 => {}
        Ok(_) => {
            tx.rollback().await?;
            let captured = fetch(ctx.db, account, id).await?.link.captured_count;
            return Err(AppError::invalid("usage_limit", FieldError::LimitBelowCaptured { captured }));
        }
        Err(e) if unique_name_violation(&e) => return Err(AppError::invalid("name", FieldError::NameTaken)),
        Err(e) => return Err(e.into()),
    }
    let (link, notify) = announce(&mut tx, account, id, ctx.public_url, current.status, now).await?;
    tx.commit().await?;
    changed(id, notify);
    Ok(link)
}

pub async fn set_status(ctx: Ctx<'_>, account: &Merchant, id: i64, status: LinkStatus) -> AppResult<LinkView> {
    let now = now_ms();
    let mut tx = ctx.db.begin().await?;
    let before: LinkStatus = sqlx::query_scalar::<_, String>("SELECT status FROM links WHERE id = $1 AND account_id = $2 AND mode = $3")
        .bind(id)
        .bind(account.id)
        .bind(account.mode.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::NotFound)?
        .try_into()
        .map_err(anyhow::Error::from)?;
    if before == status {
        tx.rollback().await?;
        return get(ctx, account, id).await;
    }
    sqlx::query("UPDATE links SET status = $1, updated_at = $2 WHERE id = $3").bind(status.as_str()).bind(now).bind(id).execute(&mut *tx).await?;
    let (link, notify) = announce(&mut tx, account, id, ctx.public_url, before, now).await?;
    tx.commit().await?;
    changed(id, notify);
    Ok(link)
}

/// Moves link `id`'s usage count from its counter shards onto its row,
/// where the captures of a link with a limit are counted
/// (`payments::count_capture`). The row is locked first: captures in flight
/// finish before, later ones wait for this transaction and then see the limit.
async fn gather_usage_count(tx: &mut WriteTx, account: &Merchant, id: i64) -> AppResult<()> {
    let lock = format!("SELECT id FROM links WHERE id = $1 AND account_id = $2 AND mode = $3{}", tx.lock(RowLock::Update));
    let owned = sqlx::query(&lock).bind(id).bind(account.id).bind(account.mode.as_str()).fetch_optional(&mut **tx).await?;
    if owned.is_none() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE links SET captured_count = captured_count + \
         (SELECT CAST(COALESCE(SUM(captured_count), 0) AS BIGINT) FROM link_counters WHERE link_id = $1) WHERE id = $1",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE link_counters SET captured_count = 0 WHERE link_id = $1 AND captured_count <> 0").bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// The merchant's webhook events for a change of link `id` (inside its
/// transaction): always `payment_link.updated`, and `payment_link.deactivated`
/// when it stopped taking payments by the merchant's choice. Returns the link
/// as changed, and whether an event was recorded.
async fn announce(tx: &mut WriteTx, account: &Merchant, id: i64, public_url: &str, before: LinkStatus, now: i64) -> AppResult<(LinkView, bool)> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE l.id = $1")).bind(id).fetch_one(&mut **tx).await?;
    let link = view(&row, public_url, now)?;
    let mut types = vec![EventType::LinkUpdated];
    if before == LinkStatus::Active && link.status == LinkStatus::Inactive {
        types.push(EventType::LinkDeactivated);
    }
    let recorded = super::merchant_webhooks::outbox::link_events(tx, account.id, &link, public_url, &types, now).await?;
    Ok((link, recorded))
}

/// After a committed change of link `id`.
fn changed(id: i64, notify: bool) {
    super::checkout_link_cache::forget_checkout_link(id);
    if notify {
        super::merchant_webhooks::wake();
    }
}

/// Cursor of the keyset pagination: the last row's `(created_at, id)`.
fn encode_cursor(created_at: i64, id: i64) -> String {
    format!("{created_at}.{id}")
}

fn decode_cursor(cursor: &str) -> Option<(i64, i64)> {
    let (a, b) = cursor.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Which links a list shows, and how many at a time.
pub struct LinkFilter<'a> {
    /// Part of the name (case-insensitive); empty for all.
    pub search: &'a str,
    pub status: Option<LinkStatus>,
    /// 1..=100.
    pub limit: i64,
}

impl LinkFilter<'_> {
    pub fn search(search: &str) -> LinkFilter<'_> {
        LinkFilter { search, status: None, limit: PAGE_SIZE }
    }
}

/// The merchant's links in the current mode, newest first, filtered.
pub async fn list(ctx: Ctx<'_>, account: &Merchant, filter: &LinkFilter<'_>, after: Option<&str>) -> AppResult<LinkPage> {
    let search = crate::domain::fields::optional_text(filter.search, 100, false).map_err(|e| AppError::invalid("q", e))?;
    let limit = filter.limit.clamp(1, 100);
    let (after_created, after_id) = match after.filter(|a| !a.is_empty()) {
        Some(cursor) => decode_cursor(cursor).ok_or(AppError::BadRequest)?,
        None => (i64::MAX, i64::MAX),
    };
    let pattern = search.map(|s| {
        let key = crate::domain::ProductName::parse(&s).map(|n| n.key()).unwrap_or(s);
        format!("%{}%", key.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
    });
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE l.account_id = $1 AND l.mode = $2 \
         AND (l.created_at < $3 OR (l.created_at = $3 AND l.id < $4)) \
         AND ($5 IS NULL OR l.name_key LIKE $5 ESCAPE '\\') \
         AND ($7 IS NULL OR l.status = $7) \
         ORDER BY l.created_at DESC, l.id DESC LIMIT $6"
    ))
    .bind(account.id)
    .bind(account.mode.as_str())
    .bind(after_created)
    .bind(after_id)
    .bind(pattern)
    .bind(limit + 1)
    .bind(filter.status.map(LinkStatus::as_str))
    .fetch_all(ctx.db.pool())
    .await?;
    let now = now_ms();
    let mut links = rows.iter().map(|row| view(row, ctx.public_url, now)).collect::<AppResult<Vec<_>>>()?;
    let next = if links.len() as i64 > limit {
        links.truncate(limit as usize);
        links.last().map(|l| encode_cursor(l.created_at, l.id))
    } else {
        None
    };
    Ok(LinkPage { links, next })
}
