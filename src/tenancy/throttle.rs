//! Log-in throttling, after the OWASP Authentication Cheat Sheet: failures lock one account only
//! for the address that failed (so a stranger cannot lock a known account out everywhere),
//! one address is limited across all accounts (guessing many accounts), and an account failing
//! from many addresses slows down rather than locks.
//!
//! The per-(account, address) count is taken atomically before the password is checked: each
//! attempt reserves its place with one state-store increment, so a burst of concurrent guesses
//! gets exactly as many checks as the limit allows.
use std::{net::IpAddr, time::Duration};

use crate::{
    error::{Error, ErrorKind, Result},
    state::StateStore,
};

/// Attempts for one account from one address, per window; a success clears them.
pub const PER_ACCOUNT_AND_ADDRESS: i64 = 10;
/// Failed attempts from one address, over all accounts, per window.
pub const PER_ADDRESS: i64 = 100;
/// Failures of one account, from anywhere, after which each attempt waits a little longer.
pub const SLOWDOWN_AFTER: i64 = 10;
/// The longest such wait.
pub const MAX_SLOWDOWN: Duration = Duration::from_secs(5);
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

pub struct LoginThrottle<'a> {
    state: &'a dyn StateStore,
    pair: String,
    address: String,
    account: String,
}

fn too_many(detail: &str) -> Error {
    Error::new(ErrorKind::TooManyRequests, "too_many_attempts", detail)
        .with_retry_after(WINDOW.as_secs())
}

impl<'a> LoginThrottle<'a> {
    pub fn new(state: &'a dyn StateStore, email: &str, address: IpAddr) -> Self {
        Self {
            state,
            pair: format!("login_attempts:{email}:{address}"),
            address: format!("login_failures_address:{address}"),
            account: format!("login_failures_account:{email}"),
        }
    }

    /// Takes one attempt's place, or refuses it. Call before checking the password.
    pub async fn admit(&self) -> Result<()> {
        let attempts = self.state.increment(&self.pair, WINDOW).await?;
        if attempts > PER_ACCOUNT_AND_ADDRESS {
            return Err(too_many(
                "Too many failed log-ins for this account from here; try again later.",
            ));
        }
        if counter(self.state, &self.address).await? >= PER_ADDRESS {
            return Err(too_many(
                "Too many failed log-ins from this address; try again later.",
            ));
        }
        let failures = counter(self.state, &self.account).await?;
        let wait = slowdown(failures);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    /// The password was wrong.
    pub async fn failed(&self) -> Result<()> {
        self.state.increment(&self.address, WINDOW).await?;
        self.state.increment(&self.account, WINDOW).await?;
        Ok(())
    }

    /// The password was right: this address starts afresh for this account, and the account's
    /// slowdown ends.
    pub async fn succeeded(&self) -> Result<()> {
        self.state.delete(&self.pair).await?;
        self.state.delete(&self.account).await?;
        Ok(())
    }
}

async fn counter(state: &dyn StateStore, key: &str) -> Result<i64> {
    Ok(state
        .get(key)
        .await?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// One more second per failure beyond [`SLOWDOWN_AFTER`], up to [`MAX_SLOWDOWN`].
fn slowdown(failures: i64) -> Duration {
    let over = u64::try_from(failures - SLOWDOWN_AFTER + 1).unwrap_or(0);
    Duration::from_secs(over).min(MAX_SLOWDOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_failing_everywhere_slows_down_a_second_at_a_time_up_to_five() {
        assert_eq!(slowdown(0), Duration::ZERO);
        assert_eq!(slowdown(SLOWDOWN_AFTER - 1), Duration::ZERO);
        assert_eq!(slowdown(SLOWDOWN_AFTER), Duration::from_secs(1));
        assert_eq!(slowdown(SLOWDOWN_AFTER + 1), Duration::from_secs(2));
        assert_eq!(slowdown(1000), MAX_SLOWDOWN);
    }
}
