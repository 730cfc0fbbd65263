//! The cluster: discovered services and a typed client for each, kept
//! current while the cluster changes.

use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use druid_discovery::{
    ClusterModel, Server, ServerType, discover, discover_from_coordinator,
    discover_from_sys_servers,
};
use druid_transport::{Locate, LocateFuture, RedirectScope, Request, Service, url::Url};
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared, WeakShared};

use crate::client::Client;
use crate::{
    BrokerClient, CoordinatorClient, Error, HistoricalClient, IndexerClient, MiddleManagerClient,
    OverlordClient, PeonClient, Result, RouterClient, ServiceClient, StatusApi,
};

/// Failures do not make the cluster re-read itself, or ask who leads,
/// more often than this (counted from the last try, whatever its outcome).
const REFRESH_GAP: Duration = Duration::from_secs(1);

/// How long a client whose service seems gone waits for a refresh of the
/// cluster before it tries again. `sys.servers` goes through a Broker,
/// which itself waits for a frozen leader; seen in `cargo xtask faults`: a
/// refresh that took the rest of a call's 45 s, so the call never asked
/// again after the election.
const RELOCATE_REFRESH_LIMIT: Duration = Duration::from_secs(5);

/// How long a server whose attempt ran out of time is treated as slow:
/// attempts to it are short probes meanwhile. ZooKeeper's session, 30 s by
/// default in Druid, is how long a frozen leader keeps its lock.
const SLOW_FOR: Duration = Duration::from_secs(30);

/// A Druid cluster, as discovered from `sys.servers` (or, without a Broker,
/// the Coordinator's view) through the entry-point client.
///
/// A `Cluster` is a cheap handle: clones share one model, and many tasks
/// may use it at once. The model is replaced whole, in place, when a
/// [`Cluster::refresh`] succeeds (on demand, at an interval set with
/// [`Cluster::refresh_every`], or when a client it handed out finds its
/// service gone); until then the last complete model stays. No lock is
/// held across an await.
///
/// The Coordinator and Overlord clients it hands out follow the leader by
/// themselves: when the leader stops answering (refused, or no answer
/// within an attempt's limit: a frozen process) they ask the other
/// Coordinators (or Overlords) who leads now, re-read the cluster, and go
/// on within the request's retry deadline; a follower's redirect to the
/// leader is remembered. A leader is learned only when it is a server of
/// the model (an answer naming another host is never where calls and their
/// credentials go); when the named leader joined after the model was read,
/// the cluster is read again first. One lookup and one refresh run at a
/// time, shared by every client that asks during them, and not more often
/// than once a second. The Broker and Router clients go to the first one
/// the current model lists. Clients of one server (a Historical, a Peon)
/// stay with it.
#[derive(Debug, Clone)]
pub struct Cluster {
    shared: Arc<ClusterState>,
}

/// A refresh, awaited by every caller that asked for it while it ran.
type Refresh = BoxFuture<'static, std::result::Result<(), Arc<Error>>>;

/// A leader lookup, awaited by every client that asked for it while it ran.
type Lookup = BoxFuture<'static, Option<Url>>;

/// One piece of work at a time, shared by every caller that asks during it,
/// and not started again within [`REFRESH_GAP`] of the last start.
///
/// The slot holds the work weakly: the work holds the cluster, and a strong
/// reference from the cluster's own state would keep both alive forever
/// when every caller gave up on it (the work is dropped with its last
/// caller instead).
struct SingleFlight<F: Future> {
    running: Option<WeakShared<F>>,
    started: Option<Instant>,
}

impl<F: Future> std::fmt::Debug for SingleFlight<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleFlight")
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl<F: Future> Default for SingleFlight<F> {
    fn default() -> Self {
        SingleFlight {
            running: None,
            started: None,
        }
    }
}

impl<F> SingleFlight<F>
where
    F: Future,
    F::Output: Clone,
{
    /// The work running now, if any.
    fn running(&self) -> Option<Shared<F>> {
        self.running.as_ref().and_then(WeakShared::upgrade)
    }

    /// Whether the last start was within `gap`.
    fn started_within(&self, gap: Duration) -> bool {
        self.started.is_some_and(|at| at.elapsed() < gap)
    }

    /// Starts `work` as the running one.
    fn start(&mut self, work: F) -> Shared<F> {
        let shared = work.shared();
        self.running = shared.downgrade();
        self.started = Some(Instant::now());
        shared
    }
}

/// What every handle of one cluster shares.
#[derive(Debug)]
struct ClusterState {
    client: Client,
    snapshot: RwLock<Arc<Snapshot>>,
    /// The refresh in flight, if any: callers during it wait for the same
    /// read instead of starting their own.
    refreshing: Mutex<SingleFlight<Refresh>>,
    /// The leader lookups in flight, by role.
    lookups: Mutex<Vec<(ServerType, SingleFlight<Lookup>)>>,
    /// The servers whose last attempt ran out of time, and when.
    slow: Mutex<Vec<(Url, Instant)>>,
}

/// One complete model and what follows from it.
#[derive(Debug)]
struct Snapshot {
    model: Arc<ClusterModel>,
    scope: RedirectScope,
    /// Leaders learned since the model was read (a redirect, an answer of
    /// `/leader`), by role.
    leaders: Vec<(ServerType, Url)>,
    read_at: Instant,
}

impl ClusterState {
    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, snapshot: Snapshot) {
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
    }

    fn snapshot_of(&self, model: ClusterModel) -> Snapshot {
        let scope = model.redirect_scope(self.client.transport().mapper());
        Snapshot {
            model: Arc::new(model),
            scope,
            leaders: Vec::new(),
            read_at: Instant::now(),
        }
    }

    /// Remembers `url` as the leader of `server_type`, keeping the model.
    fn learn_leader(&self, server_type: &ServerType, url: &Url) {
        let mut guard = self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if guard
            .leaders
            .iter()
            .any(|(t, known)| t == server_type && known == url)
        {
            return;
        }
        let mut leaders: Vec<(ServerType, Url)> = guard
            .leaders
            .iter()
            .filter(|(t, _)| t != server_type)
            .cloned()
            .collect();
        leaders.push((server_type.clone(), url.clone()));
        tracing::info!(role = %server_type, leader = %druid_transport::sanitize(url), "druid leader changed");
        *guard = Arc::new(Snapshot {
            model: guard.model.clone(),
            scope: guard.scope.clone(),
            leaders,
            read_at: guard.read_at,
        });
    }

    /// Reads the cluster: through the entry client (sys.servers, then the
    /// Coordinator's view), else through the Brokers and Coordinators the
    /// last model knows (the entry Router may be the one restarting).
    async fn read(&self) -> Result<ClusterModel> {
        let entry = self.client.service();
        let first = match discover(entry).await {
            Ok(model) => return Ok(model),
            Err(error) => error,
        };
        let last = self.snapshot();
        let transport = self.client.transport();
        for server in last.model.of_type(&ServerType::Broker) {
            if let Ok(service) =
                transport.service_for(&server.host, server.plaintext_port, server.tls_port)
                && let Ok(model) = discover_from_sys_servers(&service).await
            {
                return Ok(model);
            }
        }
        for server in last.model.of_type(&ServerType::Coordinator) {
            if let Ok(service) =
                transport.service_for(&server.host, server.plaintext_port, server.tls_port)
                && let Ok(model) =
                    discover_from_coordinator(&service.with_redirect_scope(last.scope.clone()))
                        .await
            {
                return Ok(model);
            }
        }
        Err(first.into())
    }

    /// The base URL this transport uses for the server of `role` a URL of
    /// Druid's names (a leader's `https://host:8281`, a redirect's target):
    /// the server of the model with that host and one of its ports (as
    /// Druid reports them, or as mapped) that plays `role`, reached the way
    /// the transport prefers (plaintext or TLS, mapped). `None` when no
    /// such server is in the model: an answer that names another host, or
    /// a server of another role, is never followed, since every later call
    /// and its credentials would go there.
    fn base_of(&self, url: &Url, role: &ServerType) -> Option<Url> {
        let transport = self.client.transport();
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = url.port_or_known_default()?;
        let snapshot = self.snapshot();
        let known = snapshot
            .model
            .find(
                &format!("{host}:{port}"),
                transport.mapper(),
                transport.prefer_tls(),
            )
            .ok()
            .flatten()
            .filter(|server| server.has(role))?;
        self.base_url_of(known)
    }

    /// The base URL this transport uses for `server` (mapped, plaintext or
    /// TLS as preferred).
    fn base_url_of(&self, server: &Server) -> Option<Url> {
        self.client
            .transport()
            .service_for(&server.host, server.plaintext_port, server.tls_port)
            .ok()
            .map(|service| service.base_url())
    }

    /// Asks who leads `server_type`, once at a time: a caller during a
    /// lookup waits for it, and none starts within [`REFRESH_GAP`] of the
    /// last one (the answer is `None` then: ask again later).
    async fn find_leader(self: &Arc<Self>, server_type: &ServerType, failed: &Url) -> Option<Url> {
        let lookup = {
            let mut lookups = self.lookups.lock().unwrap_or_else(PoisonError::into_inner);
            let at = match lookups.iter().position(|(t, _)| t == server_type) {
                Some(at) => at,
                None => {
                    lookups.push((server_type.clone(), SingleFlight::default()));
                    lookups.len() - 1
                }
            };
            let flight = &mut lookups[at].1;
            match flight.running() {
                Some(running) => running,
                None if flight.started_within(REFRESH_GAP) => return None,
                None => {
                    let state = self.clone();
                    let (server_type, failed) = (server_type.clone(), failed.clone());
                    flight.start(
                        async move { state.look_up_leader(&server_type, &failed).await }.boxed(),
                    )
                }
            }
        };
        lookup.await
    }

    /// Asks the other servers of `server_type` who leads; when none could
    /// say (no other server in the model, or the leader they name is not in
    /// it: the model was read while a server was down), reads the cluster
    /// again, within [`RELOCATE_REFRESH_LIMIT`], and asks once more.
    async fn look_up_leader(
        self: &Arc<Self>,
        server_type: &ServerType,
        failed: &Url,
    ) -> Option<Url> {
        match self.ask_leader(server_type, failed).await {
            Asked::Leader(leader) => return Some(leader),
            Asked::Same => return None,
            Asked::NoOne => {}
        }
        let cluster = Cluster {
            shared: self.clone(),
        };
        let _ = tokio::time::timeout(RELOCATE_REFRESH_LIMIT, cluster.refresh()).await;
        match self.ask_leader(server_type, failed).await {
            Asked::Leader(leader) => Some(leader),
            Asked::Same | Asked::NoOne => None,
        }
    }

    /// Asks the servers of `server_type` other than `failed` who leads.
    async fn ask_leader(&self, server_type: &ServerType, failed: &Url) -> Asked {
        let path = match server_type {
            ServerType::Coordinator => "/druid/coordinator/v1/leader",
            ServerType::Overlord => "/druid/indexer/v1/leader",
            _ => return Asked::Same,
        };
        let mut named_failed = false;
        let last = self.snapshot();
        let transport = self.client.transport();
        for server in last.model.of_type(server_type) {
            let Ok(service) =
                transport.service_for(&server.host, server.plaintext_port, server.tls_port)
            else {
                continue;
            };
            if same_origin(&service.base_url(), failed) {
                continue;
            }
            let request = Request::get(path)
                .operation("cluster.find_leader")
                .retry(druid_transport::RetryPolicy::none())
                .timeout(Duration::from_secs(2));
            let Ok(answer) = service.send(&request).await else {
                continue;
            };
            let Ok(text) = answer.text() else { continue };
            let Ok(url) = Url::parse(text.trim()) else {
                continue;
            };
            let Some(leader) = self.base_of(&url, server_type) else {
                continue;
            };
            if !same_origin(&leader, failed) {
                return Asked::Leader(leader);
            }
            named_failed = true;
        }
        if named_failed {
            Asked::Same
        } else {
            Asked::NoOne
        }
    }
}

/// What asking the other servers who leads found.
enum Asked {
    /// A server of the model other than the one that failed.
    Leader(Url),
    /// They name the one that failed: it still leads (a frozen leader
    /// keeps its lock until its ZooKeeper session ends).
    Same,
    /// No server could say: none to ask, none answered, or the one named
    /// is not in the model.
    NoOne,
}

/// Same scheme, host and port.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// How a client the cluster handed out finds its service.
#[derive(Debug, Clone)]
enum Target {
    /// The leader of a role.
    Leader(ServerType),
    /// The first server of a role.
    First(ServerType),
}

/// The [`Locate`] of the clients a cluster hands out. It holds the cluster
/// weakly: a client outliving its cluster keeps its last address.
#[derive(Debug)]
struct Locator {
    cluster: Weak<ClusterState>,
    target: Target,
    /// The address at hand-out, for when the cluster is gone.
    fallback: (Url, RedirectScope),
}

impl Locate for Locator {
    fn current(&self) -> Option<(Url, RedirectScope)> {
        let Some(shared) = self.cluster.upgrade() else {
            return Some(self.fallback.clone());
        };
        let snapshot = shared.snapshot();
        let url = match &self.target {
            Target::Leader(server_type) => snapshot
                .leaders
                .iter()
                .find(|(t, _)| t == server_type)
                .map(|(_, url)| url.clone())
                .or_else(|| {
                    snapshot
                        .model
                        .leader(server_type)
                        .and_then(|s| shared.base_url_of(s))
                }),
            Target::First(server_type) => snapshot
                .model
                .of_type(server_type)
                .next()
                .and_then(|s| shared.base_url_of(s)),
        };
        Some((
            url.unwrap_or_else(|| self.fallback.0.clone()),
            snapshot.scope.clone(),
        ))
    }

    fn relocate<'a>(&'a self, failed: &'a Url) -> LocateFuture<'a> {
        Box::pin(async move {
            let Some(shared) = self.cluster.upgrade() else {
                return;
            };
            if let Target::Leader(server_type) = &self.target {
                // The lookup reads the cluster again itself when no one could
                // say who leads; when they name the one that failed, it still
                // holds the lock (a frozen leader until its ZooKeeper session
                // ends), and a read of sys.servers would only wait on it too.
                if let Some(leader) = shared.find_leader(server_type, failed).await {
                    shared.learn_leader(server_type, &leader);
                }
                return;
            }
            let cluster = Cluster { shared };
            let recent = cluster
                .shared
                .refreshing
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .started_within(REFRESH_GAP);
            if !recent {
                let _ = tokio::time::timeout(RELOCATE_REFRESH_LIMIT, cluster.refresh()).await;
            }
        })
    }

    fn timed_out(&self, base: &Url) {
        let Some(shared) = self.cluster.upgrade() else {
            return;
        };
        let mut slow = shared.slow.lock().unwrap_or_else(PoisonError::into_inner);
        slow.retain(|(url, at)| url != base && at.elapsed() < SLOW_FOR);
        slow.push((base.clone(), Instant::now()));
    }

    fn is_slow(&self, base: &Url) -> bool {
        self.cluster.upgrade().is_some_and(|shared| {
            shared
                .slow
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|(url, at)| url == base && at.elapsed() < SLOW_FOR)
        })
    }

    fn redirected(&self, to: &Url) {
        if let (Target::Leader(server_type), Some(shared)) = (&self.target, self.cluster.upgrade())
            && let Some(leader) = shared.base_of(to, server_type)
        {
            shared.learn_leader(server_type, &leader);
        }
    }
}

/// A client of any service type, for [`Cluster::service`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyClient {
    /// A Coordinator.
    Coordinator(CoordinatorClient),
    /// An Overlord.
    Overlord(OverlordClient),
    /// A Broker.
    Broker(BrokerClient),
    /// A Router.
    Router(RouterClient),
    /// A Historical.
    Historical(HistoricalClient),
    /// A MiddleManager.
    MiddleManager(MiddleManagerClient),
    /// An Indexer.
    Indexer(IndexerClient),
    /// A Peon.
    Peon(PeonClient),
    /// A server type this client does not know: generic access only.
    Other(ServerType, Service),
}

impl AnyClient {
    fn new(server_type: &ServerType, service: Service) -> Self {
        match server_type {
            ServerType::Coordinator => AnyClient::Coordinator(CoordinatorClient::new(service)),
            ServerType::Overlord => AnyClient::Overlord(OverlordClient::new(service)),
            ServerType::Broker => AnyClient::Broker(BrokerClient::new(service)),
            ServerType::Router => AnyClient::Router(RouterClient::new(service)),
            ServerType::Historical => AnyClient::Historical(HistoricalClient::new(service)),
            ServerType::MiddleManager => {
                AnyClient::MiddleManager(MiddleManagerClient::new(service))
            }
            ServerType::Indexer => AnyClient::Indexer(IndexerClient::new(service)),
            ServerType::Peon => AnyClient::Peon(PeonClient::new(service)),
            other => AnyClient::Other(other.clone(), service),
        }
    }

    /// The service type.
    pub fn server_type(&self) -> ServerType {
        match self {
            AnyClient::Coordinator(_) => ServerType::Coordinator,
            AnyClient::Overlord(_) => ServerType::Overlord,
            AnyClient::Broker(_) => ServerType::Broker,
            AnyClient::Router(_) => ServerType::Router,
            AnyClient::Historical(_) => ServerType::Historical,
            AnyClient::MiddleManager(_) => ServerType::MiddleManager,
            AnyClient::Indexer(_) => ServerType::Indexer,
            AnyClient::Peon(_) => ServerType::Peon,
            AnyClient::Other(server_type, _) => server_type.clone(),
        }
    }

    /// The Coordinator client, if this is one.
    pub fn as_coordinator(&self) -> Option<&CoordinatorClient> {
        match self {
            AnyClient::Coordinator(c) => Some(c),
            _ => None,
        }
    }

    /// The Overlord client, if this is one.
    pub fn as_overlord(&self) -> Option<&OverlordClient> {
        match self {
            AnyClient::Overlord(c) => Some(c),
            _ => None,
        }
    }

    /// The Broker client, if this is one.
    pub fn as_broker(&self) -> Option<&BrokerClient> {
        match self {
            AnyClient::Broker(c) => Some(c),
            _ => None,
        }
    }

    /// The Router client, if this is one.
    pub fn as_router(&self) -> Option<&RouterClient> {
        match self {
            AnyClient::Router(c) => Some(c),
            _ => None,
        }
    }
}

impl AnyClient {
    /// The typed client inside, or the bare service of an unknown type.
    fn inner(&self) -> std::result::Result<&dyn ServiceClient, &Service> {
        Ok(match self {
            AnyClient::Coordinator(c) => c,
            AnyClient::Overlord(c) => c,
            AnyClient::Broker(c) => c,
            AnyClient::Router(c) => c,
            AnyClient::Historical(c) => c,
            AnyClient::MiddleManager(c) => c,
            AnyClient::Indexer(c) => c,
            AnyClient::Peon(c) => c,
            AnyClient::Other(_, service) => return Err(service),
        })
    }
}

/// Every client is a handle on its service, and every service has the
/// status endpoints.
impl ServiceClient for AnyClient {
    fn service_name(&self) -> &'static str {
        self.inner().map_or("other", ServiceClient::service_name)
    }

    fn service(&self) -> &Service {
        match self.inner() {
            Ok(client) => client.service(),
            Err(service) => service,
        }
    }
}

impl StatusApi for AnyClient {}

impl Cluster {
    pub(crate) async fn discover(client: Client) -> Result<Self> {
        let model = discover(client.service()).await?;
        Ok(Self::from_model(client, model))
    }

    /// A cluster from an already read model (e.g. recorded `sys.servers`
    /// rows), reached through `client`.
    pub fn from_model(client: Client, model: ClusterModel) -> Self {
        let scope = model.redirect_scope(client.transport().mapper());
        let snapshot = Snapshot {
            model: Arc::new(model),
            scope,
            leaders: Vec::new(),
            read_at: Instant::now(),
        };
        Cluster {
            shared: Arc::new(ClusterState {
                client,
                snapshot: RwLock::new(Arc::new(snapshot)),
                refreshing: Mutex::new(SingleFlight::default()),
                lookups: Mutex::new(Vec::new()),
                slow: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Reads the cluster again and replaces the model, in place, for every
    /// handle and every client handed out. The model is replaced only when
    /// a complete read succeeds; on failure the last one stays. Calls
    /// during a refresh wait for that one instead of starting another.
    pub async fn refresh(&self) -> Result<()> {
        let future = {
            let mut slot = self
                .shared
                .refreshing
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match slot.running() {
                Some(running) => running,
                None => {
                    let shared = self.shared.clone();
                    let future = async move {
                        let result = shared.read().await;
                        match result {
                            Ok(model) => {
                                tracing::info!(
                                    servers = model.servers().len(),
                                    source = %model.source(),
                                    "druid cluster refreshed"
                                );
                                let snapshot = shared.snapshot_of(model);
                                shared.replace(snapshot);
                                Ok(())
                            }
                            Err(error) => {
                                tracing::info!(%error, "druid cluster refresh failed; keeping the last model");
                                Err(Arc::new(error))
                            }
                        }
                    }
                    .boxed();
                    slot.start(future)
                }
            }
        };
        future.await.map_err(|error| Error::shared(&error))
    }

    /// Refreshes the cluster every `interval` in a background task on the
    /// current Tokio runtime, until the last handle of this cluster is
    /// dropped. A failed refresh keeps the last model and tries again at the
    /// next tick.
    pub fn refresh_every(&self, interval: Duration) {
        let weak = Arc::downgrade(&self.shared);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                let _ = Cluster { shared }.refresh().await;
            }
        });
    }

    /// The hosts the clients of this cluster may be redirected to: every
    /// server's host, as reported and as mapped.
    pub fn redirect_scope(&self) -> RedirectScope {
        self.shared.snapshot().scope.clone()
    }

    /// The query client the cluster was discovered through.
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// The current model: every server and its roles, and where it was
    /// read from. A snapshot: a refresh replaces the cluster's model, not
    /// this one.
    pub fn model(&self) -> Arc<ClusterModel> {
        self.shared.snapshot().model.clone()
    }

    /// Every server of the cluster (a Coordinator that is also the Overlord
    /// is one server with two roles), as the current model lists them.
    pub fn servers(&self) -> Vec<Server> {
        self.model().servers().to_vec()
    }

    fn service_of(&self, server: &Server, scope: &RedirectScope) -> Result<Service> {
        let transport = self.shared.client.transport();
        let service =
            transport.service_for(&server.host, server.plaintext_port, server.tls_port)?;
        Ok(service.with_redirect_scope(scope.clone()))
    }

    /// A service that follows `target` through this cluster's model.
    fn located(&self, server: &Server, scope: &RedirectScope, target: Target) -> Result<Service> {
        let service = self.service_of(server, scope)?;
        let locator = Locator {
            cluster: Arc::downgrade(&self.shared),
            target,
            fallback: (service.base_url(), scope.clone()),
        };
        Ok(service.with_locator(Arc::new(locator)))
    }

    fn leader_service(&self, server_type: &ServerType) -> Result<Service> {
        let snapshot = self.shared.snapshot();
        let model = &snapshot.model;
        match model.leader(server_type) {
            Some(server) => {
                self.located(server, &snapshot.scope, Target::Leader(server_type.clone()))
            }
            None => {
                let count = model.of_type(server_type).count();
                Err(Error::not_found(if count == 0 {
                    format!(
                        "the cluster has no {server_type}: {} lists none",
                        model.source()
                    )
                } else {
                    format!(
                        "no {server_type} is the leader among the {count} listed; the cluster may be \
                         electing one: call refresh() and try again"
                    )
                }))
            }
        }
    }

    fn first_service(&self, server_type: &ServerType) -> Result<Service> {
        let snapshot = self.shared.snapshot();
        match snapshot.model.of_type(server_type).next() {
            Some(server) => {
                self.located(server, &snapshot.scope, Target::First(server_type.clone()))
            }
            None => Err(Error::not_found(format!(
                "the cluster has no {server_type}: {} lists none",
                snapshot.model.source()
            ))),
        }
    }

    fn all_services(&self, server_type: &ServerType) -> Result<Vec<Service>> {
        let snapshot = self.shared.snapshot();
        snapshot
            .model
            .of_type(server_type)
            .map(|s| self.service_of(s, &snapshot.scope))
            .collect()
    }

    /// The lead Coordinator; the client follows the leader when it changes.
    pub fn coordinator(&self) -> Result<CoordinatorClient> {
        self.leader_service(&ServerType::Coordinator)
            .map(CoordinatorClient::new)
    }

    /// The lead Overlord; the client follows the leader when it changes.
    pub fn overlord(&self) -> Result<OverlordClient> {
        self.leader_service(&ServerType::Overlord)
            .map(OverlordClient::new)
    }

    /// A Broker: the first the current model lists, at every request.
    pub fn broker(&self) -> Result<BrokerClient> {
        self.first_service(&ServerType::Broker)
            .map(BrokerClient::new)
    }

    /// A Router: the first the current model lists, at every request.
    pub fn router(&self) -> Result<RouterClient> {
        self.first_service(&ServerType::Router)
            .map(RouterClient::new)
    }

    /// Every Broker.
    pub fn brokers(&self) -> Result<Vec<BrokerClient>> {
        Ok(self
            .all_services(&ServerType::Broker)?
            .into_iter()
            .map(BrokerClient::new)
            .collect())
    }

    /// Every Router.
    pub fn routers(&self) -> Result<Vec<RouterClient>> {
        Ok(self
            .all_services(&ServerType::Router)?
            .into_iter()
            .map(RouterClient::new)
            .collect())
    }

    /// Every Historical.
    pub fn historicals(&self) -> Result<Vec<HistoricalClient>> {
        Ok(self
            .all_services(&ServerType::Historical)?
            .into_iter()
            .map(HistoricalClient::new)
            .collect())
    }

    /// Every MiddleManager.
    pub fn middle_managers(&self) -> Result<Vec<MiddleManagerClient>> {
        Ok(self
            .all_services(&ServerType::MiddleManager)?
            .into_iter()
            .map(MiddleManagerClient::new)
            .collect())
    }

    /// Every Indexer.
    pub fn indexers(&self) -> Result<Vec<IndexerClient>> {
        Ok(self
            .all_services(&ServerType::Indexer)?
            .into_iter()
            .map(IndexerClient::new)
            .collect())
    }

    /// Every Peon (one per running task on MiddleManagers).
    pub fn peons(&self) -> Result<Vec<PeonClient>> {
        Ok(self
            .all_services(&ServerType::Peon)?
            .into_iter()
            .map(PeonClient::new)
            .collect())
    }

    /// Which services answer at an endpoint: a URL (`http://host:8081/...`)
    /// or `host:port`, as the cluster reports it or as mapped. Empty when no
    /// server of the cluster is there.
    pub fn what_is(&self, endpoint: &str) -> Result<Vec<ServerType>> {
        let transport = self.shared.client.transport();
        Ok(self
            .model()
            .what_is(endpoint, transport.mapper(), transport.prefer_tls())?)
    }

    /// The client for the service at an endpoint. A server with several
    /// roles (a Coordinator that is also the Overlord) gives its first; use
    /// [`Cluster::service_as`] to choose.
    pub fn service(&self, endpoint: &str) -> Result<AnyClient> {
        let server = self.server_at(endpoint)?;
        let first = server
            .types()
            .next()
            .ok_or_else(|| Error::not_found(format!("the server at {endpoint} has no role")))?;
        Ok(AnyClient::new(
            first,
            self.service_of(&server, &self.redirect_scope())?,
        ))
    }

    /// The client for one role of the server at an endpoint.
    pub fn service_as(&self, endpoint: &str, server_type: &ServerType) -> Result<AnyClient> {
        let server = self.server_at(endpoint)?;
        if !server.has(server_type) {
            return Err(Error::not_found(format!(
                "the server at {endpoint} does not play the {server_type} role; its roles: {}",
                server
                    .types()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(AnyClient::new(
            server_type,
            self.service_of(&server, &self.redirect_scope())?,
        ))
    }

    fn server_at(&self, endpoint: &str) -> Result<Server> {
        let transport = self.shared.client.transport();
        let model = self.model();
        model
            .find(endpoint, transport.mapper(), transport.prefer_tls())?
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no server of the cluster answers at {endpoint}; known: {}",
                    model
                        .servers()
                        .iter()
                        .map(|s| s.server.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
}
