//! The Router's management proxy, as typed clients.

use druid_transport::Service;

use crate::{CoordinatorClient, OverlordClient, Result, RouterClient};

impl RouterClient {
    fn proxied(&self, prefix: &str) -> Result<Service> {
        let mut url = self.base_url().clone();
        let path = format!("{}/{prefix}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        Ok(self.service().clone().with_base_url(url))
    }

    /// A Coordinator client that reaches the lead Coordinator through this
    /// Router's management proxy (`/proxy/coordinator/...`), for clusters
    /// where only the Router is reachable. Needs
    /// `druid.router.managementProxy.enabled=true` on the Router.
    pub fn coordinator_proxy(&self) -> Result<CoordinatorClient> {
        self.proxied("proxy/coordinator")
            .map(CoordinatorClient::new)
    }

    /// An Overlord client that reaches the lead Overlord through this
    /// Router's management proxy (`/proxy/overlord/...`).
    pub fn overlord_proxy(&self) -> Result<OverlordClient> {
        self.proxied("proxy/overlord").map(OverlordClient::new)
    }
}
