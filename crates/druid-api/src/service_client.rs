//! What every generated client is: a handle on one service.

use druid_transport::Service;
use druid_transport::url::Url;

/// A client of one Druid service: the [`Service`] handle its calls go
/// through.
///
/// Every generated client implements it, and so does [`AnyClient`](crate::AnyClient).
/// The traits of the endpoint groups that several services serve
/// ([`StatusApi`](crate::StatusApi), [`QueryApi`](crate::QueryApi), ...)
/// build on it, so code can be generic over any client of a group:
///
/// ```no_run
/// use druid_api::prelude::*;
///
/// async fn all_healthy(clients: &[impl StatusApi]) -> druid_api::Result<bool> {
///     for client in clients {
///         if !client.is_healthy().await? {
///             return Ok(false);
///         }
///     }
///     Ok(true)
/// }
/// ```
pub trait ServiceClient: Sync {
    /// The service's name in operation names and errors: `overlord` in
    /// `overlord.task_status`.
    fn service_name(&self) -> &'static str;

    /// The service handle: base URL, transport, redirect scope, and generic
    /// `get_json`/`post_json`/`delete` for endpoints the spec lacks.
    fn service(&self) -> &Service;

    /// The base URL the client talks to now (a cluster's leader clients
    /// follow the leader, so this can change).
    fn base_url(&self) -> Url {
        self.service().base_url()
    }
}
