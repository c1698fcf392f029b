//! Rate limits: a token bucket per client address and one per bearer token, kept in memory.
//! A request over either limit is answered 429 with `Retry-After` before anything else runs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A limit: `requests` per `per`, spendable at once (the bucket holds `requests`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub requests: u32,
    pub per: Duration,
}

impl Rate {
    /// Parses `600/min`, `20/s`, `5000/h` or `off` (no limit).
    pub fn parse(name: &str, s: &str) -> Result<Option<Rate>, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let bad = || format!("{name}: {s:?} is not like 600/min, 20/s, 5000/h or off");
        let (n, unit) = s.split_once('/').ok_or_else(bad)?;
        let requests: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if requests == 0 {
            return Err(format!("{name}: at least 1 request, or off"));
        }
        Ok(Some(Rate { requests, per }))
    }

    fn refill_per_sec(&self) -> f64 {
        f64::from(self.requests) / self.per.as_secs_f64()
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Which bucket a request draws from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Address(IpAddr),
    /// A digest of the bearer token (the token itself is not kept).
    Token([u8; 16]),
}

/// Buckets for one rate. Idle buckets are dropped once the table grows, so a flood of addresses
/// cannot grow it without bound.
pub struct Limiter {
    rate: Rate,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

const PRUNE_AT: usize = 50_000;

impl Limiter {
    pub fn new(rate: Rate) -> Self {
        Limiter { rate, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from the key's bucket; `Err(wait)` when it is empty.
    pub fn take(&self, key: Key, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.rate.requests);
        let refill = self.rate.refill_per_sec();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * refill < capacity);
        }
        let b = buckets.entry(key).or_insert(Bucket { tokens: capacity, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * refill).min(capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / refill))
        }
    }
}

/// The bearer token's bucket key.
pub fn token_key(token: &str) -> Key {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(token.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    Key::Token(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_refills() {
        let l = Limiter::new(Rate { requests: 2, per: Duration::from_secs(2) });
        let t0 = Instant::now();
        let k = Key::Address("127.0.0.1".parse().unwrap());
        assert!(l.take(k.clone(), t0).is_ok());
        assert!(l.take(k.clone(), t0).is_ok());
        let wait = l.take(k.clone(), t0).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(l.take(k, t0 + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn parses_rates() {
        assert_eq!(Rate::parse("r", "off").unwrap(), None);
        assert_eq!(Rate::parse("r", "600/min").unwrap().unwrap().per, Duration::from_secs(60));
        assert!(Rate::parse("r", "0/min").is_err());
        assert!(Rate::parse("r", "many").is_err());
    }
}
