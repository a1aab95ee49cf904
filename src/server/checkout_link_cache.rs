//! The link as the checkout page and the payment path read it, cached for up
//! to a second per process (the payment's write checks the link again).

use super::db::{now_ms, Db};
use crate::domain::link::{availability, Availability, LinkStatus};
use crate::domain::webhook::EventSet;
use crate::domain::{Currency, LinkSlug, Locale, Mode};
use crate::error::{AppError, AppResult};

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
    if let Some(hit) =
        link_cache().lock().ok().and_then(|cache| cache.get(slug).filter(|(at, _)| now.duration_since(*at) < LINK_CACHE_TTL).map(|(_, l)| l.clone()))
    {
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
pub(crate) fn captured_on(id: i64) {
    if let Ok(mut cache) = link_cache().lock() {
        cache.retain(|_, (_, loaded)| loaded.link.id != id || loaded.link.usage_limit.is_none());
    }
}

async fn load_checkout_link(db: &Db, slug: &str) -> AppResult<LoadedLink> {
    let slug = LinkSlug::parse(slug).ok_or(AppError::NotFound)?;
    let row = sqlx::query_as::<_, CheckoutRow>(
        "SELECT l.id, l.account_id, l.slug, l.mode, l.name, l.description, l.amount, l.currency, l.language, l.status, \
         l.usage_limit, l.expires_at, l.captured_count, i.sha256 AS image_sha, a.business_name, a.public_id, \
         (SELECT status FROM live_applications WHERE account_id = a.id) AS application, \
         (SELECT string_agg(w.events, ' ') FROM webhook_endpoints w \
          WHERE w.account_id = l.account_id AND w.mode = l.mode AND w.disabled_at IS NULL AND w.turned_off_at IS NULL) AS subscribed \
         FROM links l JOIN accounts a ON a.id = l.account_id LEFT JOIN images i ON i.id = l.image_id WHERE l.slug = $1",
    )
    .bind(slug.as_str().to_owned())
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let approved = row.application.as_deref() == Some("approved");
    let stored = row.link;
    let link = CheckoutLink {
        id: stored.id,
        account_id: row.account_id,
        slug: stored.slug,
        mode: stored.mode,
        name: stored.name,
        description: stored.description,
        amount: stored.amount,
        currency: stored.currency,
        language: stored.language,
        availability: Availability::Active,
        usage_limit: stored.usage_limit,
        image_sha: stored.image_sha,
        business_name: row.business_name,
        legal_public_id: approved.then_some(row.public_id),
        subscribed: row.subscribed.as_deref().map(EventSet::from_stored),
    };
    Ok(LoadedLink {
        link,
        status: stored.status,
        expires_at: stored.expires_at,
        // The link row's own count is the whole usage count of a link with a
        // limit (see `count_capture`); without one the count decides nothing here.
        captured_count: stored.captured_count,
    })
}

/// The link, its merchant and their endpoints' subscriptions, as read.
#[derive(sqlx::FromRow)]
struct CheckoutRow {
    #[sqlx(flatten)]
    link: crate::server::links::LinkColumns,
    account_id: i64,
    business_name: String,
    public_id: String,
    application: Option<String>,
    subscribed: Option<String>,
}
