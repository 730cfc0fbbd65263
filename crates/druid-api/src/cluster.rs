//! The cluster: discovered services and a typed client for each.

use druid_discovery::{ClusterModel, Server, ServerType, discover};
use druid_transport::{RedirectScope, Service};

use crate::client::Client;
use crate::{
    BrokerClient, CoordinatorClient, Error, HistoricalClient, IndexerClient, MiddleManagerClient,
    OverlordClient, PeonClient, Result, RouterClient, ServiceClient, StatusApi,
};

/// A Druid cluster, as discovered from `sys.servers` through the entry-point
/// client.
///
/// The model is a snapshot: call [`Cluster::refresh`] after servers come, go
/// or change leader. Clients handed out keep working with the server they
/// were made for; ask again after a refresh to follow a new leader (the
/// Coordinator and Overlord clients follow leader redirects on their own, to
/// any host of the cluster as this snapshot knows it: its
/// [`RedirectScope`], which every client handed out carries).
#[derive(Debug, Clone)]
pub struct Cluster {
    client: Client,
    model: ClusterModel,
    scope: RedirectScope,
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
        Cluster {
            client,
            model,
            scope,
        }
    }

    /// Reads `sys.servers` again. The model is replaced only when the read
    /// succeeds; clients handed out before keep the old snapshot.
    pub async fn refresh(&mut self) -> Result<()> {
        *self = Self::discover(self.client.clone()).await?;
        Ok(())
    }

    /// The hosts the clients of this cluster may be redirected to: every
    /// server's host, as reported and as mapped.
    pub fn redirect_scope(&self) -> &RedirectScope {
        &self.scope
    }

    /// The query client the cluster was discovered through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The model: every server and its roles.
    pub fn model(&self) -> &ClusterModel {
        &self.model
    }

    /// Every server of the cluster (a Coordinator that is also the Overlord
    /// is one server with two roles).
    pub fn servers(&self) -> &[Server] {
        self.model.servers()
    }

    fn service_of(&self, server: &Server) -> Result<Service> {
        let transport = self.client.transport();
        let service =
            transport.service_for(&server.host, server.plaintext_port, server.tls_port)?;
        Ok(service.with_redirect_scope(self.scope.clone()))
    }

    fn leader_service(&self, server_type: &ServerType) -> Result<Service> {
        match self.model.leader(server_type) {
            Some(server) => self.service_of(server),
            None => {
                let count = self.model.of_type(server_type).count();
                Err(Error::not_found(if count == 0 {
                    format!("the cluster has no {server_type}: sys.servers lists none")
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
        match self.model.of_type(server_type).next() {
            Some(server) => self.service_of(server),
            None => Err(Error::not_found(format!(
                "the cluster has no {server_type}: sys.servers lists none"
            ))),
        }
    }

    fn all_services(&self, server_type: &ServerType) -> Result<Vec<Service>> {
        self.model
            .of_type(server_type)
            .map(|s| self.service_of(s))
            .collect()
    }

    /// The lead Coordinator.
    pub fn coordinator(&self) -> Result<CoordinatorClient> {
        self.leader_service(&ServerType::Coordinator)
            .map(CoordinatorClient::new)
    }

    /// The lead Overlord.
    pub fn overlord(&self) -> Result<OverlordClient> {
        self.leader_service(&ServerType::Overlord)
            .map(OverlordClient::new)
    }

    /// A Broker (the first listed).
    pub fn broker(&self) -> Result<BrokerClient> {
        self.first_service(&ServerType::Broker)
            .map(BrokerClient::new)
    }

    /// A Router (the first listed).
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
        let transport = self.client.transport();
        Ok(self
            .model
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
        Ok(AnyClient::new(first, self.service_of(server)?))
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
        Ok(AnyClient::new(server_type, self.service_of(server)?))
    }

    fn server_at(&self, endpoint: &str) -> Result<&Server> {
        let transport = self.client.transport();
        self.model
            .find(endpoint, transport.mapper(), transport.prefer_tls())?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no server of the cluster answers at {endpoint}; known: {}",
                    self.model
                        .servers()
                        .iter()
                        .map(|s| s.server.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
}
