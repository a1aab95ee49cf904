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
mod tests {
    use super::*;
    use crate::domain::payment::DeclineReason;

    #[test]
    fn every_event_name_reads_back() {
        for t in EventType::SUBSCRIBABLE.into_iter().chain([EventType::Ping]) {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
        }
        assert_eq!(EventType::parse("payment.created"), None);
    }

    #[test]
    fn an_event_is_wanted_when_any_endpoint_takes_it() {
        let captured = EventSet::parse(&["payment.captured"]).unwrap();
        let refunds = EventSet::parse(&["payment.refunded", "payment.failed"]).unwrap();
        let types = [EventType::PaymentCaptured, EventType::PaymentFailed, EventType::PaymentExpired];
        assert_eq!(wanted_by(&types, &[captured.clone(), refunds]), vec![EventType::PaymentCaptured, EventType::PaymentFailed]);
        assert_eq!(wanted_by(&types, &[captured]), vec![EventType::PaymentCaptured]);
        assert!(wanted_by(&types, &[]).is_empty());
    }

    #[test]
    fn transitions_raise_their_events() {
        use PaymentStatus::*;
        assert_eq!(EventType::of_transition(&Transition::Capture, Captured), [EventType::PaymentCaptured]);
        assert_eq!(EventType::of_transition(&Transition::Fail { reason: DeclineReason::InsufficientFunds }, Failed), [EventType::PaymentFailed]);
        assert_eq!(EventType::of_transition(&Transition::Refund { amount: 100 }, Captured), [EventType::RefundCreated]);
        assert_eq!(EventType::of_transition(&Transition::Refund { amount: 100 }, Refunded), [EventType::RefundCreated, EventType::PaymentRefunded]);
        assert_eq!(EventType::of_transition(&Transition::ChargeBack, ChargedBack), [EventType::PaymentChargedBack]);
    }

    #[test]
    fn event_sets_are_known_names_without_repeats() {
        let set = EventSet::parse(&["payment.failed", " payment.captured", "payment.failed", ""]).unwrap();
        assert_eq!(set.types(), [EventType::PaymentCaptured, EventType::PaymentFailed]);
        assert_eq!(set.stored(), " payment.captured payment.failed ");
        assert_eq!(EventSet::from_stored(&set.stored()), set);
        assert!(set.contains(EventType::Ping) && !set.contains(EventType::PaymentExpired));
        assert_eq!(EventSet::parse::<&str>(&[]), Err(FieldError::Required));
        assert_eq!(EventSet::parse(&["", " "]), Err(FieldError::Required));
        assert_eq!(EventSet::parse(&["payment.created"]), Err(FieldError::NotAllowed));
        assert_eq!(EventSet::parse(&["ping"]), Err(FieldError::NotAllowed));
        // `payment.refunded` must not match inside `payment.refund.created` and vice versa.
        let only_full = EventSet::parse(&["payment.refunded"]).unwrap().stored();
        assert!(!like(&only_full, &subscribed_pattern(EventType::RefundCreated)));
        assert!(like(&only_full, &subscribed_pattern(EventType::PaymentRefunded)));
    }

    /// SQL's LIKE with `%` only, enough for the patterns above.
    fn like(text: &str, pattern: &str) -> bool {
        let inner = pattern.trim_matches('%');
        text.contains(inner)
    }

    /// Hosts that reach the server's own network however they are written.
    /// Each must be refused, in test and live mode alike.
    const HOSTILE_HOSTS: &[&str] = &[
        "2130706433",
        "127.1",
        "127.0.1",
        "0x7f.1",
        "0x7f000001",
        "0177.0.0.1",
        "0177.1",
        "017700000001",
        "0",
        "0.0.0.0",
        "0x0",
        "127.000.000.001",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",
        "[::1]",
        "[::]",
        "[0:0:0:0:0:0:0:1]",
        "[fe80::1]",
        "[fc00::1]",
        "[fd12:3456::1]",
        "[ff02::1]",
        "[64:ff9b::a00:1]",
        "[64:ff9b:1::1]",
        "[2002:7f00:1::1]",
        "[2002:a00:1::]",
        "[2001:db8::1]",
        "[2001:0:4136:e378::1]",
        "[fec0::1]",
        "[100::1]",
        "10.0.0.1",
        "0xa.0.0.1",
        "167772161",
        "172.16.0.1",
        "192.168.1.1",
        "0xc0.0xa8.1.1",
        "169.254.169.254",
        "0xa9fea9fe",
        "2852039166",
        "100.64.0.1",
        "100.127.255.254",
        "192.0.0.8",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "198.18.0.1",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "localhost",
        "LOCALHOST",
        "localhost.",
        "api.localhost",
        "metadata.google.internal",
        "printer.local",
        "127.0.0.1.",
        "[::ffff:169.254.169.254]",
    ];

    #[test]
    #[cfg(feature = "ssr")]
    fn endpoints_never_reach_inside_however_the_host_is_written() {
        assert!(HOSTILE_HOSTS.len() >= 30);
        for host in HOSTILE_HOSTS {
            for (scheme, mode) in [("http", Mode::Test), ("https", Mode::Live)] {
                let url = format!("{scheme}://{host}:8080/hook");
                let refused = EndpointUrl::parse(&url, mode, false);
                assert!(matches!(refused, Err(FieldError::UrlPrivate | FieldError::InvalidUrl)), "{url}: {refused:?}");
                assert!(!client_host_is_public(&url), "{url}");
            }
        }
        for public in ["https://8.8.8.8/", "https://[2606:4700::1111]/", "https://shop.example.com/h", "https://0x8.8.8.8/"] {
            assert!(client_host_is_public(public), "{public}");
            assert!(EndpointUrl::parse(public, Mode::Live, false).is_ok(), "{public}");
        }
    }

    #[test]
    fn endpoint_urls() {
        let ok = |u: &str, mode| EndpointUrl::parse(u, mode, false).map(|u| u.as_str().to_owned());
        assert_eq!(ok(" https://shop.example.com/hooks?x=1 ", Mode::Live).unwrap(), "https://shop.example.com/hooks?x=1");
        assert!(ok("http://shop.example.com/hooks", Mode::Test).is_ok());
        assert_eq!(ok("http://shop.example.com/hooks", Mode::Live), Err(FieldError::UrlNotHttps));
        assert!(ok("https://shop.example.com:8443/h", Mode::Live).is_ok());
        for bad in [
            "shop.example.com",
            "ftp://x.example",
            "https://",
            "https://a b.example/",
            "https://user:pw@x.example/",
            "https://x.example/#frag",
            "https://x.example:99999/",
            "https://exa_mple.com/",
            "https://[zz]/",
        ] {
            assert_eq!(ok(bad, Mode::Test), Err(FieldError::InvalidUrl), "{bad}");
        }
        assert_eq!(ok("", Mode::Test), Err(FieldError::Required));
        for private in [
            "http://localhost:4000/h",
            "http://127.0.0.1/h",
            "https://10.1.2.3/",
            "https://192.168.0.10/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]:8080/",
            "https://[fd00::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://db.internal/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
        ] {
            assert_eq!(ok(private, Mode::Test), Err(FieldError::UrlPrivate), "{private}");
            assert!(EndpointUrl::parse(private, Mode::Test, true).is_ok(), "{private} when allowed");
        }
        assert!(ok("https://8.8.8.8/", Mode::Live).is_ok());
        assert!(ok("https://[2606:4700::1111]/", Mode::Live).is_ok());
        assert_eq!(ok(&format!("https://x.example/{}", "a".repeat(URL_MAX)), Mode::Test), Err(FieldError::TooLong { max: URL_MAX as u32 }));
    }

    #[test]
    fn retries_back_off_and_stop_after_a_day() {
        let base = 30_000;
        assert_eq!(retry_delay_ms(1, base), 30_000);
        assert_eq!(retry_delay_ms(2, base), 60_000);
        assert_eq!(retry_delay_ms(5, base), 480_000);
        assert_eq!(retry_delay_ms(60, base), MAX_RETRY_DELAY_MS);
        // Simulate a receiver that is down for good: attempts stop inside the window.
        let created = 1_000_000;
        let give_up = created + RETRY_WINDOW_MS;
        let (mut now, mut attempts) = (created, 1);
        while let Some(next) = next_attempt_at(attempts, now, give_up, base) {
            assert!(next > now && next <= give_up);
            now = next;
            attempts += 1;
        }
        assert!((10..=16).contains(&attempts), "{attempts} attempts in a day");
        assert!(give_up - now < MAX_RETRY_DELAY_MS, "the last attempt is near the end of the window");
    }
}
