//! Request limits on the checkout's hot path, kept in this server's memory:
//! a database statement per payment would cost the checkout its speed. Each
//! app server counts on its own, so N servers allow at most N times the limit
//! — still a bound on the payment rows and KOMOJU sessions one visitor can
//! make, which is the point.

use std::collections::HashMap;
use std::sync::Mutex;

/// At most `max` hits per key per `window_ms` (fixed windows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub max: u32,
    pub window_ms: i64,
}

impl Rate {
    pub const fn per_minute(max: u32) -> Rate {
        Rate { max, window_ms: 60_000 }
    }
}

/// Keys beyond this are pruned (expired windows first); a flood of distinct
/// keys cannot grow the map without bound.
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct Limiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl Limiter {
    /// Counts a hit for `key` at `now_ms`; `Err(seconds to wait)` past the rate.
    pub fn hit(&self, key: &str, rate: Rate, now_ms: i64) -> Result<(), u32> {
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= MAX_KEYS && !windows.contains_key(key) {
            windows.retain(|_, (start, _)| *start + rate.window_ms > now_ms);
            if windows.len() >= MAX_KEYS {
                // Still full of live windows: refuse newcomers rather than grow.
                return Err((rate.window_ms / 1000).max(1) as u32);
            }
        }
        let (start, count) = windows.entry(key.to_owned()).or_insert((now_ms, 0));
        if *start + rate.window_ms <= now_ms {
            *start = now_ms;
            *count = 0;
        }
        if *count >= rate.max {
            let wait_ms = *start + rate.window_ms - now_ms;
            return Err(((wait_ms + 999) / 1000).max(1) as u32);
        }
        *count += 1;
        Ok(())
    }

    /// All of `keys` at once: nothing is counted unless every one has room.
    pub fn hit_all(&self, keys: &[(&str, Rate)], now_ms: i64) -> Result<(), u32> {
        for (key, rate) in keys {
            if let Some(wait) = self.peek(key, *rate, now_ms) {
                return Err(wait);
            }
        }
        for (key, rate) in keys {
            self.hit(key, *rate, now_ms)?;
        }
        Ok(())
    }

    /// The wait if `key` has no room now.
    fn peek(&self, key: &str, rate: Rate, now_ms: i64) -> Option<u32> {
        let windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (start, count) = windows.get(key)?;
        (*start + rate.window_ms > now_ms && *count >= rate.max).then(|| (((*start + rate.window_ms - now_ms) + 999) / 1000).max(1) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_windows_per_key() {
        let limiter = Limiter::default();
        let rate = Rate::per_minute(3);
        for _ in 0..3 {
            assert_eq!(limiter.hit("a", rate, 1_000), Ok(()));
        }
        assert_eq!(limiter.hit("a", rate, 1_500), Err(60), "the fourth waits for the window");
        assert_eq!(limiter.hit("b", rate, 1_500), Ok(()), "another key has its own");
        assert_eq!(limiter.hit("a", rate, 60_999), Err(1));
        assert_eq!(limiter.hit("a", rate, 61_000), Ok(()), "a new window");
    }

    #[test]
    fn all_or_nothing() {
        let limiter = Limiter::default();
        let (ip, link) = (Rate::per_minute(2), Rate::per_minute(3));
        assert!(limiter.hit_all(&[("ip:1", ip), ("link:x", link)], 0).is_ok());
        assert!(limiter.hit_all(&[("ip:1", ip), ("link:x", link)], 0).is_ok());
        assert!(limiter.hit_all(&[("ip:1", ip), ("link:x", link)], 0).is_err(), "the address is spent");
        assert!(limiter.hit_all(&[("ip:2", ip), ("link:x", link)], 0).is_ok(), "the refused one did not count for the link");
        assert!(limiter.hit_all(&[("ip:3", ip), ("link:x", link)], 0).is_err(), "now the link is spent");
    }
}
