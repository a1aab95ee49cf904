//! The Transactions page's queries: one merchant's payments in one mode,
//! filtered, keyset-paginated, exported as CSV, and a link's daily sales.
//!
//! Every query starts with `account_id = ? AND mode = ?`: a merchant never
//! sees another merchant's payments, nor live payments in test mode.

use super::auth::Merchant;
use super::db::{now_ms, Db};
use super::payments::{self, COLUMNS};
use crate::domain::link::format_local_datetime;
use crate::domain::money::format_minor;
use crate::domain::payment::PaymentView;
use crate::domain::time_zone::TimeZone;
use crate::domain::transactions::{csv_cell, sales_day, Cursor, Search, StatusFilter, TransactionFilter, FILTER_OFFSET_MINUTES};
use crate::domain::Locale;
use crate::error::{AppError, AppResult};
use sqlx::{FromRow, Row};

enum Arg {
    Int(i64),
    Text(String),
}

/// A WHERE clause and its arguments, numbered as they are added.
struct Where {
    sql: String,
    args: Vec<Arg>,
}

impl Where {
    fn new() -> Where {
        Where { sql: String::new(), args: Vec::new() }
    }

    fn int(&mut self, v: i64) -> String {
        self.args.push(Arg::Int(v));
        format!("${}", self.args.len())
    }

    fn text(&mut self, v: impl Into<String>) -> String {
        self.args.push(Arg::Text(v.into()));
        format!("${}", self.args.len())
    }

    fn and(&mut self, clause: String) {
        self.sql.push_str(if self.sql.is_empty() { " WHERE " } else { " AND " });
        self.sql.push_str(&clause);
    }
}

fn filtered(account: &Merchant, filter: &TransactionFilter) -> Where {
    let mut w = Where::new();
    let (a, m) = (w.int(account.id), w.text(account.mode.as_str()));
    w.and(format!("p.account_id = {a} AND p.mode = {m}"));
    if let Some(link) = filter.link_id {
        let p = w.int(link);
        w.and(format!("p.link_id = {p}"));
    }
    if let Some(status) = filter.status {
        let (stored, unrefunded) = status.stored();
        let p = w.text(stored.as_str());
        w.and(format!("p.status = {p}"));
        match unrefunded {
            Some(true) => w.and("p.refunded_amount = 0".into()),
            Some(false) => w.and("p.refunded_amount > 0".into()),
            None => {}
        }
    }
    if let Some(method) = filter.method {
        let p = w.text(method.as_str());
        w.and(format!("p.method = {p}"));
    }
    if let Some(since) = filter.since {
        let p = w.int(since);
        w.and(format!("p.created_at >= {p}"));
    }
    if let Some(until) = filter.until {
        let p = w.int(until);
        w.and(format!("p.created_at < {p}"));
    }
    match &filter.search {
        Search::Nothing => {}
        Search::PaymentId(id) => {
            let p = w.text(id.clone());
            w.and(format!("p.public_id = {p}"));
        }
        Search::EmailContains(part) => {
            let escaped = part.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let p = w.text(format!("%{escaped}%"));
            w.and(format!("LOWER(p.customer_email) LIKE {p} ESCAPE '\\'"));
        }
    }
    if let Some(after) = filter.after {
        let (c, i) = (w.int(after.created_at), w.int(after.id));
        // The first bound alone is what PostgreSQL can start an index scan
        // at (it leaves an OR to a filter); the second picks the exact spot.
        w.and(format!("p.created_at <= {c} AND (p.created_at < {c} OR (p.created_at = {c} AND p.id < {i}))"));
    }
    w
}

/// The SQL of one page of [`list`] and its arguments.
fn page_query(account: &Merchant, filter: &TransactionFilter, limit: usize) -> (String, Vec<Arg>) {
    let mut w = filtered(account, filter);
    let lim = w.int(limit as i64 + 1);
    let sql = format!(
        "SELECT {COLUMNS}, p.account_id, p.created_at AS k_created, p.id AS k_id FROM payments p JOIN links l ON l.id = p.link_id{} \
         ORDER BY p.created_at DESC, p.id DESC LIMIT {lim}",
        w.sql
    );
    (sql, w.args)
}

/// A payment of a page with its place in the order (the next page's cursor).
#[derive(sqlx::FromRow)]
struct PageRow {
    #[sqlx(flatten)]
    payment: payments::PaymentRow,
    k_created: i64,
    k_id: i64,
}

fn bind_all<'q>(sql: &'q str, args: Vec<Arg>) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind(v),
            Arg::Text(v) => query.bind(v),
        };
    }
    query
}

/// One page of payments, newest first, and the cursor of the next page.
pub async fn list(db: &Db, account: &Merchant, filter: &TransactionFilter, limit: usize) -> AppResult<(Vec<PaymentView>, Option<Cursor>)> {
    let (sql, args) = page_query(account, filter, limit);
    let rows = bind_all(&sql, args).fetch_all(db.pool()).await?.iter().map(PageRow::from_row).collect::<Result<Vec<_>, _>>()?;
    let more = rows.len() > limit;
    let mut views = Vec::with_capacity(limit.min(rows.len()));
    let mut last = None;
    for row in rows.into_iter().take(limit) {
        views.push(payments::Payment::from(row.payment).view);
        last = Some(Cursor { created_at: row.k_created, id: row.k_id });
    }
    Ok((views, if more { last } else { None }))
}

/// The database's plan for [`list`] with these filters, one line per step
/// (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL): the benchmark
/// checks that every page is read through an index.
pub async fn plan(db: &Db, account: &Merchant, filter: &TransactionFilter, limit: usize) -> AppResult<Vec<String>> {
    let (sql, args) = page_query(account, filter, limit);
    let (explain, column) = match db.backend() {
        super::db::Backend::Sqlite => (format!("EXPLAIN QUERY PLAN {sql}"), 3),
        super::db::Backend::Postgres => (format!("EXPLAIN {sql}"), 0),
    };
    let rows = bind_all(&explain, args).fetch_all(db.pool()).await?;
    // The plan's text is a column whose name differs by backend.
    rows.iter().map(|row| row.try_get::<String, _>(column).map_err(AppError::from)).collect()
}

/// The merchant's links in the current mode, for the filter menu.
pub async fn link_choices(db: &Db, account: &Merchant) -> AppResult<Vec<(i64, String)>> {
    Ok(sqlx::query_as("SELECT id, name FROM links WHERE account_id = $1 AND mode = $2 ORDER BY name LIMIT 1000")
        .bind(account.id)
        .bind(account.mode.as_str())
        .fetch_all(db.pool())
        .await?)
}

/// Captured amount (net of refunds, without charged-back payments) per day
/// for the last `days` days in Japan time, oldest first: what the summary's
/// chart draws. Reads the link's daily sales: at most `days` × shards rows.
pub async fn daily_captured(db: &Db, link_id: i64, days: usize) -> AppResult<(String, Vec<i64>)> {
    let today = sales_day(now_ms());
    let first = today - days as i64 + 1;
    // A row per day with sales and shard (migrations 0007, 0011), whatever the link's size.
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT day, CAST(SUM(amount) AS BIGINT) FROM link_daily_shards WHERE link_id = $1 AND day >= $2 AND day <= $3 GROUP BY day")
            .bind(link_id)
            .bind(first)
            .bind(today)
            .fetch_all(db.pool())
            .await?;
    let mut totals = vec![0i64; days];
    for (day, amount) in rows {
        if let Some(slot) = usize::try_from(day - first).ok().and_then(|d| totals.get_mut(d)) {
            *slot = amount;
        }
    }
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let since = first * DAY - FILTER_OFFSET_MINUTES * 60 * 1000;
    let first_day = format_local_datetime(since, FILTER_OFFSET_MINUTES)[..10].to_owned();
    Ok((first_day, totals))
}

/// The CSV header; rows follow [`csv_row`].
pub const CSV_HEADER: &str =
    "payment_id,created_at_local,time_zone,product,customer_email,method,status,currency,amount_minor,refunded_minor,amount,refunded\r\n";

/// One payment as a CSV line, its time in the merchant's `zone` (named in the next cell).
pub fn csv_row(p: &PaymentView, locale: Locale, zone: TimeZone) -> String {
    let method = match (&p.card, p.konbini_store) {
        (Some(card), _) => format!("{} {}", card.brand.display_name(), card.last4),
        (None, Some(store)) => format!("{} {}", p.method.as_str(), store.as_str()),
        _ => p.method.as_str().to_owned(),
    };
    let cells = [
        p.public_id.clone(),
        zone.display(p.created_at, true),
        zone.iana().to_owned(),
        p.link_name.clone(),
        p.customer_email.clone().unwrap_or_default(),
        method,
        StatusFilter::of(p).as_str().to_owned(),
        p.currency.code().to_owned(),
        p.amount.to_string(),
        p.refunded_amount.to_string(),
        format_minor(p.amount, p.currency, locale),
        format_minor(p.refunded_amount, p.currency, locale),
    ];
    let mut line = cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

/// `GET /export/transactions.csv?…` (the Transactions page's filters): the
/// merchant's payments as CSV, streamed page by page, UTF-8 with a BOM so
/// Excel reads Japanese correctly.
pub async fn export_csv(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    axum::extract::Query(query): axum::extract::Query<crate::domain::transactions::TransactionQuery>,
    headers: http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let secure = state.config.public_url.starts_with("https://");
    let account = match super::auth::merchant_from_headers(&state.db, &headers, secure).await {
        Ok(merchant) => merchant,
        Err(refused) => return super::locale::refusal(&headers, &refused),
    };
    let filter = match query.parse(account.time_zone) {
        Ok(filter) => filter,
        Err((field, e)) => return (http::StatusCode::UNPROCESSABLE_ENTITY, AppError::invalid(field, e).to_string()).into_response(),
    };
    let locale = account.locale;
    let zone = account.time_zone;
    let mode = account.mode.as_str();
    use futures_util::StreamExt;
    let stream = futures_util::stream::unfold(Some((state.db.clone(), account, filter, true)), move |step| async move {
        let (db, account, mut filter, first) = step?;
        match list(&db, &account, &filter, 500).await {
            Ok((rows, next)) => {
                let mut chunk = String::new();
                if first {
                    chunk.push('\u{feff}');
                    chunk.push_str(CSV_HEADER);
                }
                for p in &rows {
                    chunk.push_str(&csv_row(p, locale, zone));
                }
                filter.after = next;
                let rest = next.map(|_| (db, account, filter, false));
                Some((Ok::<_, std::io::Error>(chunk), rest))
            }
            Err(e) => {
                tracing::error!(error = %e, "CSV export failed mid-way");
                Some((Err(std::io::Error::other("export failed")), None))
            }
        }
    })
    // The compression layer may poll once more after the end.
    .fuse();
    let day = zone.date(now_ms());
    (
        [
            (http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"paylinks-{mode}-transactions-{day}.csv\"")),
            (http::header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}
