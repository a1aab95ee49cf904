//! The Transactions page's filters, as typed in the URL, and their parsed form.

use super::fields::url_encode;
use super::fields::FieldError;
use super::link::parse_local_datetime;
use super::payment::{Method, PaymentStatus, PaymentView};
use super::time_zone::TimeZone;
use serde::{Deserialize, Serialize};

/// Dates in filters are calendar days in Japan time (UTC+9), like the rest
/// of the dashboard's defaults.
pub const FILTER_OFFSET_MINUTES: i64 = 9 * 60;

/// Rows per page (and per database round trip of the CSV export).
pub const PAGE_SIZE: usize = 50;

/// The status badges a merchant filters by. "Captured" and "Partially
/// refunded" are one stored status told apart by the refunded amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Pending,
    Authorized,
    Captured,
    PartiallyRefunded,
    Refunded,
    Failed,
    Expired,
    Cancelled,
    ChargedBack,
}

impl StatusFilter {
    pub const ALL: [StatusFilter; 9] = [
        StatusFilter::Pending,
        StatusFilter::Authorized,
        StatusFilter::Captured,
        StatusFilter::PartiallyRefunded,
        StatusFilter::Refunded,
        StatusFilter::Failed,
        StatusFilter::Expired,
        StatusFilter::Cancelled,
        StatusFilter::ChargedBack,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Pending => "pending",
            StatusFilter::Authorized => "authorized",
            StatusFilter::Captured => "captured",
            StatusFilter::PartiallyRefunded => "partially_refunded",
            StatusFilter::Refunded => "refunded",
            StatusFilter::Failed => "failed",
            StatusFilter::Expired => "expired",
            StatusFilter::Cancelled => "cancelled",
            StatusFilter::ChargedBack => "charged_back",
        }
    }

    pub fn parse(input: &str) -> Option<StatusFilter> {
        StatusFilter::ALL.into_iter().find(|s| s.as_str() == input)
    }

    /// The stored status, and whether the refunded amount must be zero
    /// (`Some(true)`), positive (`Some(false)`) or anything.
    pub const fn stored(self) -> (PaymentStatus, Option<bool>) {
        match self {
            StatusFilter::Pending => (PaymentStatus::Pending, None),
            StatusFilter::Authorized => (PaymentStatus::Authorized, None),
            StatusFilter::Captured => (PaymentStatus::Captured, Some(true)),
            StatusFilter::PartiallyRefunded => (PaymentStatus::Captured, Some(false)),
            StatusFilter::Refunded => (PaymentStatus::Refunded, None),
            StatusFilter::Failed => (PaymentStatus::Failed, None),
            StatusFilter::Expired => (PaymentStatus::Expired, None),
            StatusFilter::Cancelled => (PaymentStatus::Cancelled, None),
            StatusFilter::ChargedBack => (PaymentStatus::ChargedBack, None),
        }
    }

    /// The badge a payment shows.
    pub fn of(payment: &PaymentView) -> StatusFilter {
        match payment.status {
            PaymentStatus::Pending => StatusFilter::Pending,
            PaymentStatus::Authorized => StatusFilter::Authorized,
            PaymentStatus::Captured if payment.refunded_amount > 0 => StatusFilter::PartiallyRefunded,
            PaymentStatus::Captured => StatusFilter::Captured,
            PaymentStatus::Refunded => StatusFilter::Refunded,
            PaymentStatus::Failed => StatusFilter::Failed,
            PaymentStatus::Expired => StatusFilter::Expired,
            PaymentStatus::Cancelled => StatusFilter::Cancelled,
            PaymentStatus::ChargedBack => StatusFilter::ChargedBack,
        }
    }

    /// Localized label id (`locales/*/payments.ftl`).
    pub fn message_id(self) -> String {
        format!("payment-status-{}", self.as_str().replace('_', "-"))
    }
}

/// The filters as they appear in the URL (`?link=3&status=captured&…`);
/// every field may be empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransactionQuery {
    pub link: String,
    pub status: String,
    pub method: String,
    /// `YYYY-MM-DD`, first day included.
    pub from: String,
    /// `YYYY-MM-DD`, last day included.
    pub to: String,
    /// A payment id (`pay_…`) or part of the customer's email.
    pub q: String,
    /// Where the previous page stopped (see [`Cursor`]).
    pub after: String,
}

/// What to look for in the search box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Search {
    Nothing,
    PaymentId(String),
    /// Lower-cased; matched anywhere in the email.
    EmailContains(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionFilter {
    pub link_id: Option<i64>,
    pub status: Option<StatusFilter>,
    pub method: Option<Method>,
    /// Created at or after (Unix ms).
    pub since: Option<i64>,
    /// Created before (Unix ms).
    pub until: Option<i64>,
    pub search: Search,
    pub after: Option<Cursor>,
}

/// A position in the list, ordered by (created_at, id) descending: rows
/// strictly after it come next. Keyset pagination: no OFFSET, so page 20 000
/// costs what page 1 costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: i64,
}

impl Cursor {
    pub fn encode(self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    pub fn parse(text: &str) -> Option<Cursor> {
        let (created_at, id) = text.split_once('.')?;
        Some(Cursor { created_at: created_at.parse().ok()?, id: id.parse().ok()? })
    }
}

/// The first instant of a calendar day (`YYYY-MM-DD`) in `zone`, and of the
/// day after it (a day may be 23 or 25 hours long where clocks change).
fn day_bounds(text: &str, zone: TimeZone) -> Option<(i64, i64)> {
    let text = text.trim();
    if text.len() != 10 || parse_local_datetime(&format!("{text}T00:00"), 0).is_none() {
        return None;
    }
    let next = super::link::days_from(text, 2).pop()?;
    Some((zone.to_utc(&format!("{text}T00:00"))?, zone.to_utc(&format!("{next}T00:00"))?))
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The Japan-time day (days since 1970-01-01, UTC+9) of a Unix-ms instant:
/// the key of a link's daily sales (migration 0007 computes the same).
pub fn sales_day(ms: i64) -> i64 {
    (ms + FILTER_OFFSET_MINUTES * 60 * 1000).div_euclid(DAY_MS)
}

impl TransactionQuery {
    /// The filters, with `from` and `to` as whole days in the merchant's `zone`.
    pub fn parse(&self, zone: TimeZone) -> Result<TransactionFilter, (&'static str, FieldError)> {
        let link_id = match self.link.trim() {
            "" => None,
            id => Some(id.parse::<i64>().map_err(|_| ("link", FieldError::NotAllowed))?),
        };
        let status = match self.status.trim() {
            "" => None,
            s => Some(StatusFilter::parse(s).ok_or(("status", FieldError::NotAllowed))?),
        };
        let method = match self.method.trim() {
            "" => None,
            m => Some(Method::parse(m).ok_or(("method", FieldError::NotAllowed))?),
        };
        let since = match self.from.trim() {
            "" => None,
            d => Some(day_bounds(d, zone).ok_or(("from", FieldError::DateInvalid))?.0),
        };
        let until = match self.to.trim() {
            "" => None,
            d => Some(day_bounds(d, zone).ok_or(("to", FieldError::DateInvalid))?.1),
        };
        let q = self.q.trim();
        if q.chars().count() > 200 {
            return Err(("q", FieldError::TooLong { max: 200 }));
        }
        let search = if q.is_empty() {
            Search::Nothing
        } else if q.starts_with("pay_") && !q.contains(char::is_whitespace) {
            Search::PaymentId(q.to_owned())
        } else {
            Search::EmailContains(q.to_lowercase())
        };
        let after = match self.after.trim() {
            "" => None,
            c => Some(Cursor::parse(c).ok_or(("after", FieldError::NotAllowed))?),
        };
        Ok(TransactionFilter { link_id, status, method, since, until, search, after })
    }

    /// The URL query for these filters (without the cursor unless given).
    pub fn to_query_string(&self, after: Option<&str>) -> String {
        let pairs = [
            ("link", self.link.as_str()),
            ("status", self.status.as_str()),
            ("method", self.method.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("q", self.q.as_str()),
            ("after", after.unwrap_or_default()),
        ];
        pairs.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| format!("{k}={}", url_encode(v.trim()))).collect::<Vec<_>>().join("&")
    }
}

/// A CSV cell: quoted when needed, and never a formula when opened in a
/// spreadsheet (a leading `=`, `+`, `-`, `@` gets a `'`).
pub fn csv_cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sales_days_turn_at_midnight_in_japan() {
        // 2026-11-23 15:00 UTC is 2026-11-24 00:00 in Tokyo.
        let midnight_jst = 1_795_446_000_000;
        assert_eq!(sales_day(midnight_jst) - sales_day(midnight_jst - 1), 1);
        assert_eq!(sales_day(midnight_jst), sales_day(midnight_jst + DAY_MS - 1));
        assert_eq!(sales_day(0), 0);
    }

    #[test]
    fn empty_query_filters_nothing() {
        let filter = TransactionQuery::default().parse(TimeZone::Tokyo).unwrap();
        assert_eq!(filter, TransactionFilter { link_id: None, status: None, method: None, since: None, until: None, search: Search::Nothing, after: None });
    }

    #[test]
    fn parses_every_filter() {
        let query = TransactionQuery {
            link: "12".into(),
            status: "partially_refunded".into(),
            method: "konbini".into(),
            from: "2026-11-01".into(),
            to: "2026-11-01".into(),
            q: " Taro@Example.JP ".into(),
            after: "1700000000000.42".into(),
        };
        let f = query.parse(TimeZone::Tokyo).unwrap();
        assert_eq!(f.link_id, Some(12));
        assert_eq!(f.status.unwrap().stored(), (PaymentStatus::Captured, Some(false)));
        assert_eq!(f.method, Some(Method::Konbini));
        // 2026-11-01 00:00 JST = 2026-10-31 15:00 UTC, and one whole day.
        assert_eq!(f.since, Some(1_793_458_800_000));
        assert_eq!(f.until, Some(1_793_458_800_000 + DAY_MS));
        assert_eq!(f.search, Search::EmailContains("taro@example.jp".into()));
        assert_eq!(f.after, Some(Cursor { created_at: 1_700_000_000_000, id: 42 }));
        // The same day in New York ends at 5:00 UTC the next day, and the day
        // clocks go back there is 25 hours long.
        let ny = query.parse(TimeZone::NewYork).unwrap();
        assert_eq!(ny.since, Some(parse_local_datetime("2026-11-01T04:00", 0).unwrap()));
        assert_eq!(ny.until, Some(parse_local_datetime("2026-11-02T05:00", 0).unwrap()));
        let q = TransactionQuery { q: "pay_AbC".into(), ..Default::default() };
        assert_eq!(q.parse(TimeZone::Tokyo).unwrap().search, Search::PaymentId("pay_AbC".into()));
    }

    #[test]
    fn bad_filters_name_their_field() {
        let bad = |f: fn(&mut TransactionQuery)| {
            let mut q = TransactionQuery::default();
            f(&mut q);
            q.parse(TimeZone::Tokyo).err().map(|(field, _)| field)
        };
        assert_eq!(bad(|q| q.link = "x".into()), Some("link"));
        assert_eq!(bad(|q| q.status = "paid".into()), Some("status"));
        assert_eq!(bad(|q| q.method = "cash".into()), Some("method"));
        assert_eq!(bad(|q| q.from = "2026-13-01".into()), Some("from"));
        assert_eq!(bad(|q| q.to = "yesterday".into()), Some("to"));
        assert_eq!(bad(|q| q.after = "1.2.3".into()), Some("after"));
        assert_eq!(bad(|q| q.q = "x".repeat(201)), Some("q"));
    }

    #[test]
    fn query_string_round_trip() {
        let q = TransactionQuery { status: "captured".into(), q: "a b&c".into(), ..Default::default() };
        assert_eq!(q.to_query_string(Some("5.6")), "status=captured&q=a%20b%26c&after=5.6");
        assert_eq!(TransactionQuery::default().to_query_string(None), "");
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("抹茶"), "抹茶");
    }

    #[test]
    fn badges() {
        for s in StatusFilter::ALL {
            assert_eq!(StatusFilter::parse(s.as_str()), Some(s));
        }
        assert_eq!(StatusFilter::PartiallyRefunded.message_id(), "payment-status-partially-refunded");
    }
}
