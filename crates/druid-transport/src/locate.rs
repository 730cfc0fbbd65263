//! Services whose address changes: a leader that moves, a Broker that
//! restarts elsewhere.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use url::Url;

use crate::RedirectScope;

/// A future a [`Locate`] returns.
pub type LocateFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where a service is now. A [`Service`](crate::Service) with a locator
/// asks it before every attempt, and tells it when an attempt failed in a
/// way that may mean the service moved (no connection, a 502/503/504) and
/// when a redirect led elsewhere (a follower pointing at its leader).
///
/// A cluster implements it for the clients it hands out, so that those
/// follow the leader and see new addresses after a refresh.
pub trait Locate: Send + Sync + fmt::Debug {
    /// The base URL and redirect scope of the next attempt; `None` keeps
    /// the service's own.
    fn current(&self) -> Option<(Url, RedirectScope)>;

    /// An attempt to `failed` failed as if the service had moved: find out
    /// where it is now. The transport bounds the wait by the call's
    /// deadline and then asks [`Locate::current`] again.
    fn relocate<'a>(&'a self, failed: &'a Url) -> LocateFuture<'a>;

    /// A redirect from the service led to `to` (scheme, host and port of
    /// the `Location`, as Druid wrote it, before the mapper): a leader's
    /// address, worth remembering.
    fn redirected(&self, to: &Url) {
        let _ = to;
    }

    /// An attempt to `base` ran out of its time: the service may be frozen
    /// (a stopped process, a long pause), worth remembering for the calls
    /// that follow.
    fn timed_out(&self, base: &Url) {
        let _ = base;
    }

    /// Whether an attempt to `base` ran out of its time lately: the
    /// transport then gives the next attempt to it a short limit (a probe),
    /// so that a frozen leader costs every call one short attempt, not a
    /// full one, while its standby takes over.
    fn is_slow(&self, base: &Url) -> bool {
        let _ = base;
        false
    }
}
