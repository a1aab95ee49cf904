//! Webhooks to the merchant: which events exist, which URLs may receive
//! them, and when a failed delivery is tried again.

use super::fields::FieldError;
use super::payment::{PaymentStatus, Transition};
use super::Mode;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a merchant can subscribe an endpoint to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "payment.authorized")]
    PaymentAuthorized,
    #[serde(rename = "payment.captured")]
    PaymentCaptured,
    #[serde(rename = "payment.failed")]
    PaymentFailed,
    #[serde(rename = "payment.expired")]
    PaymentExpired,
    #[serde(rename = "payment.cancelled")]
    PaymentCancelled,
    /// Fully refunded (the payment's status is now `refunded`).
    #[serde(rename = "payment.refunded")]
    PaymentRefunded,
    /// Any refund, partial or full.
    #[serde(rename = "payment.refund.created")]
    RefundCreated,
    #[serde(rename = "payment.charged_back")]
    PaymentChargedBack,
    #[serde(rename = "payment_link.updated")]
    LinkUpdated,
    #[serde(rename = "payment_link.deactivated")]
    LinkDeactivated,
    /// The dashboard's "send test event": goes to one endpoint, whatever it subscribes to.
    #[serde(rename = "ping")]
    Ping,
}

impl EventType {
    /// Everything an endpoint can subscribe to, in the order the dashboard lists them.
    pub const SUBSCRIBABLE: [EventType; 10] = [
        EventType::PaymentAuthorized,
        EventType::PaymentCaptured,
        EventType::PaymentFailed,
        EventType::PaymentExpired,
        EventType::PaymentCancelled,
        EventType::PaymentRefunded,
        EventType::RefundCreated,
        EventType::PaymentChargedBack,
        EventType::LinkUpdated,
        EventType::LinkDeactivated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PaymentAuthorized => "payment.authorized",
            EventType::PaymentCaptured => "payment.captured",
            EventType::PaymentFailed => "payment.failed",
            EventType::PaymentExpired => "payment.expired",
            EventType::PaymentCancelled => "payment.cancelled",
            EventType::PaymentRefunded => "payment.refunded",
            EventType::RefundCreated => "payment.refund.created",
            EventType::PaymentChargedBack => "payment.charged_back",
            EventType::LinkUpdated => "payment_link.updated",
            EventType::LinkDeactivated => "payment_link.deactivated",
            EventType::Ping => "ping",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        Self::SUBSCRIBABLE.into_iter().chain([EventType::Ping]).find(|t| t.as_str() == text)
    }

    /// The events one payment transition raises. A refund always raises
    /// `payment.refund.created`; the one that leaves nothing to refund also
    /// raises `payment.refunded`.
    pub fn of_transition(transition: &Transition, after: PaymentStatus) -> Vec<EventType> {
        match transition {
            Transition::Authorize => vec![EventType::PaymentAuthorized],
            Transition::Capture | Transition::LateCapture => vec![EventType::PaymentCaptured],
            Transition::Fail { .. } => vec![EventType::PaymentFailed],
            Transition::Expire => vec![EventType::PaymentExpired],
            Transition::Cancel => vec![EventType::PaymentCancelled],
            Transition::Refund { .. } if after == PaymentStatus::Refunded => vec![EventType::RefundCreated, EventType::PaymentRefunded],
            Transition::Refund { .. } => vec![EventType::RefundCreated],
            Transition::ChargeBack => vec![EventType::PaymentChargedBack],
        }
    }
}

/// The events an endpoint subscribes to: at least one, no repeats, known names only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSet(Vec<EventType>);

impl EventSet {
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<EventSet, FieldError> {
        let mut types = Vec::new();
        for name in names {
            let name = name.as_ref().trim();
            if name.is_empty() {
                continue;
            }
            let t = EventType::parse(name).filter(|t| *t != EventType::Ping).ok_or(FieldError::NotAllowed)?;
            if !types.contains(&t) {
                types.push(t);
            }
        }
        if types.is_empty() {
            return Err(FieldError::Required);
        }
        types.sort();
        Ok(EventSet(types))
    }

    pub fn contains(&self, t: EventType) -> bool {
        t == EventType::Ping || self.0.contains(&t)
    }

    pub fn types(&self) -> &[EventType] {
        &self.0
    }

    /// Stored as ` a b c ` so that `LIKE '% a %'` finds a subscription.
    pub fn stored(&self) -> String {
        let names: Vec<&str> = self.0.iter().map(|t| t.as_str()).collect();
        format!(" {} ", names.join(" "))
    }

    /// Reads [`EventSet::stored`]; unknown names (from a newer version) are skipped.
    pub fn from_stored(stored: &str) -> EventSet {
        let mut types: Vec<EventType> = stored.split_whitespace().filter_map(EventType::parse).collect();
        types.sort();
        types.dedup();
        EventSet(types)
    }
}

/// The pattern that finds endpoints subscribed to `t` in [`EventSet::stored`].
pub fn subscribed_pattern(t: EventType) -> String {
    format!("% {} %", t.as_str())
}

/// Of `types`, the ones at least one of `subscriptions` takes, in order.
pub fn wanted_by(types: &[EventType], subscriptions: &[EventSet]) -> Vec<EventType> {
    types.iter().copied().filter(|t| subscriptions.iter().any(|s| s.contains(*t))).collect()
}

/// Where deliveries go: an absolute http(s) URL. Live endpoints need https;
/// addresses inside the server's own network are refused unless the operator
/// allows them (a merchant must not make our server call its neighbours).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointUrl(String);

pub const URL_MAX: usize = 2048;

impl EndpointUrl {
    pub fn parse(text: &str, mode: Mode, allow_private: bool) -> Result<EndpointUrl, FieldError> {
        let url = text.trim();
        if url.is_empty() {
            return Err(FieldError::Required);
        }
        if url.chars().count() > URL_MAX {
            return Err(FieldError::TooLong { max: URL_MAX as u32 });
        }
        if url.chars().any(|c| c.is_control() || c.is_whitespace()) || url.contains('#') {
            return Err(FieldError::InvalidUrl);
        }
        let lower = url.to_ascii_lowercase();
        let (https, rest) = match (lower.strip_prefix("https://"), lower.strip_prefix("http://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            _ => return Err(FieldError::InvalidUrl),
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(FieldError::InvalidUrl);
        }
        let host = host_of(authority).ok_or(FieldError::InvalidUrl)?;
        if !https && mode == Mode::Live {
            return Err(FieldError::UrlNotHttps);
        }
        if !allow_private && host_is_private(&host) {
            return Err(FieldError::UrlPrivate);
        }
        // The HTTP client reads hosts its own way (WHATWG URL: `2130706433`,
        // `0x7f.1`, `0177.0.0.1` and `127.1` are all 127.0.0.1): decide on
        // the host exactly as it will see it.
        #[cfg(feature = "ssr")]
        if !allow_private && !client_host_is_public(url) {
            return Err(FieldError::UrlPrivate);
        }
        Ok(EndpointUrl(url.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The host of `host[:port]` or `[v6][:port]`, checked for shape.
fn host_of(authority: &str) -> Option<String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<Ipv6Addr>().ok()?;
        (v6.to_owned(), after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    if let Some(port) = port {
        port.parse::<u16>().ok().filter(|p| *p > 0)?;
    }
    let shaped = !host.is_empty()
        && host.len() <= 253
        && (host.parse::<IpAddr>().is_ok()
            || host.split('.').all(|label| !label.is_empty() && label.len() <= 63 && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')));
    shaped.then_some(host)
}

/// Whether the host the HTTP client will connect to (parsed by the `url`
/// crate, the client's own parser) may be public: an address literal must be
/// public, a name must not be one of the private names. Names are checked
/// again when they resolve (every address, at connect time).
#[cfg(feature = "ssr")]
pub fn client_host_is_public(text: &str) -> bool {
    match url::Url::parse(text).ok().as_ref().and_then(url::Url::host) {
        Some(url::Host::Ipv4(ip)) => v4_is_public(ip),
        Some(url::Host::Ipv6(ip)) => ip_is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => !host_is_private(name) && name.parse::<IpAddr>().is_err(),
        None => false,
    }
}

/// A host name or address that points inside the server's own network.
pub fn host_is_private(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if host == "localhost" || host.ends_with(".localhost") || host.ends_with(".internal") || host.ends_with(".local") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| !ip_is_public(ip))
}

/// Whether `ip` is an address on the public internet (what std's unstable
/// `is_global` would say).
pub fn ip_is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_public(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_is_public(v4);
            }
            let s = v6.segments();
            // 6to4 carries an IPv4 address that may be private.
            if s[0] == 0x2002 {
                return v4_is_public(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
            }
            // Only global unicast (2000::/3) is public; inside it, the special ranges are not.
            (s[0] & 0xe000) == 0x2000
                && !(s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                && !(s[0] == 0x2001 && s[1] == 0x0000) // Teredo: tunnels to any IPv4
                && !(s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0) // benchmarking
                && !(s[0] == 0x2001 && (s[1] & 0xfff0) == 0x0010) // ORCHID
                && !(s[0] == 0x3fff && s[1] < 0x1000) // documentation (2024)
        }
    }
}

fn v4_is_public(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 192 && b == 88 && ip.octets()[2] == 99) // 6to4 relay anycast
        || a >= 240)
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not answered with a 2xx yet; tried again at `next_attempt_at`.
    Pending,
    Succeeded,
    /// Retried for 24 hours without success (a manual re-send may still work).
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        [DeliveryStatus::Pending, DeliveryStatus::Succeeded, DeliveryStatus::Failed].into_iter().find(|s| s.as_str() == text)
    }
}

/// How long an event is retried: 24 hours from when it happened.
pub const RETRY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY_MS: i64 = 4 * 60 * 60 * 1000;

/// The wait after the `attempts`-th failed attempt: `base`, doubling each
/// time, at most [`MAX_RETRY_DELAY_MS`]. With the default 30 s base an event
/// is tried about 13 times in its 24 hours.
pub fn retry_delay_ms(attempts: u32, base_ms: i64) -> i64 {
    let doublings = attempts.saturating_sub(1).min(30);
    base_ms.max(1).saturating_mul(1i64 << doublings).min(MAX_RETRY_DELAY_MS)
}

/// When to try again after a failure at `now`, or `None` once the next try
/// would fall after `give_up_at`.
pub fn next_attempt_at(attempts: u32, now: i64, give_up_at: i64, base_ms: i64) -> Option<i64> {
    let next = now.saturating_add(retry_delay_ms(attempts, base_ms));
    (next <= give_up_at).then_some(next)
}

/// A webhook endpoint as the dashboard lists it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    /// `we_…`
    pub id: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub mode: Mode,
    pub created_at: i64,
    /// Until then, deliveries are also signed with the secret before the last rotation.
    pub previous_secret_until: Option<i64>,
    /// When Paylinks turned it off after its deliveries failed for a whole
    /// retry window; nothing is sent to it until the merchant turns it back on.
    pub turned_off_at: Option<i64>,
    /// Deliveries of the last 24 hours: answered 2xx, still retrying, given up.
    pub succeeded: i64,
    pub pending: i64,
    pub failed: i64,
}

/// An endpoint's signing secret (`whsec_…`), shown on request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSecret {
    pub endpoint: EndpointView,
    pub secret: String,
}

/// One event sent (or being sent) to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    /// `evt_…`: the same on every attempt and re-send, for the receiver's de-duplication.
    pub event_id: String,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub created_at: i64,
    pub last_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
}

#[cfg(test)]
mod tests;
