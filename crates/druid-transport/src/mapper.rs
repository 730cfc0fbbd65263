//! From the host and ports Druid reports to a URL this client can reach.
//!
//! Druid's `sys.servers` table, its leader redirects and its task locations
//! name servers as the cluster sees them (`druid-coordinator:8081`,
//! `172.18.0.4:8081`). Behind Docker port maps, NAT or a proxy, the client
//! must reach them under another name or port. A [`ServiceMapper`] does that
//! translation; it is a pure function, tested without a network.

use std::collections::HashMap;
use std::fmt;

use url::Url;

use crate::error::{Error, Result};

/// The scheme a mapped URL uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP, on the server's plaintext port.
    Http,
    /// HTTPS, on the server's TLS port.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Picks the scheme and port to use for a server: its TLS port when
/// `prefer_tls` is set and it has one, else its plaintext port, else its TLS
/// port. A server with neither is an error.
pub fn choose_port(
    host: &str,
    plaintext_port: Option<u16>,
    tls_port: Option<u16>,
    prefer_tls: bool,
) -> Result<(Scheme, u16)> {
    match (plaintext_port, tls_port) {
        (_, Some(tls)) if prefer_tls => Ok((Scheme::Https, tls)),
        (Some(plain), _) => Ok((Scheme::Http, plain)),
        (None, Some(tls)) => Ok((Scheme::Https, tls)),
        (None, None) => Err(Error::invalid_input(format!(
            "server {host} has neither a plaintext nor a TLS port"
        ))),
    }
}

/// Builds `scheme://host:port/`, bracketing IPv6 addresses.
///
/// `host` must be a host name or an IP address, nothing more: a host that
/// carries other parts of a URL (`user@host`, `host/path`, `host?query`,
/// `host#x`), which would make a URL to another host, port or path, is an
/// error.
pub fn service_url(scheme: Scheme, host: &str, port: u16) -> Result<Url> {
    let host_part = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let text = format!("{}://{}:{}", scheme.as_str(), host_part, port);
    let url = Url::parse(&text)
        .map_err(|e| Error::invalid_input(format!("{text:?} is not a valid URL: {e}")))?;
    let only_host_and_port = url.has_host()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.port_or_known_default() == Some(port);
    if !only_host_and_port {
        return Err(Error::invalid_input(format!(
            "{host:?} is not a host name: {text:?} would be the URL {url}"
        )));
    }
    Ok(url)
}

/// Turns a server's host and ports, as Druid reports them, into a base URL
/// this client can reach.
///
/// Implement it for your own type, or pass a closure with the same
/// signature:
///
/// ```
/// use druid_transport::{ServiceMapper, Scheme, choose_port, service_url};
/// // Every server is reached through an SSH tunnel on localhost, port + 10000.
/// let tunnel = |host: &str, plain: Option<u16>, tls: Option<u16>, prefer_tls: bool| {
///     let (scheme, port) = choose_port(host, plain, tls, prefer_tls)?;
///     service_url(scheme, "localhost", port + 10000)
/// };
/// let url = tunnel.map("10.0.0.7", Some(8081), None, false).unwrap();
/// assert_eq!(url.as_str(), "http://localhost:18081/");
/// ```
pub trait ServiceMapper: Send + Sync {
    /// Returns the base URL (`scheme://host:port/`) for a server.
    ///
    /// `plaintext_port` and `tls_port` are `None` where Druid reports `-1`.
    fn map(
        &self,
        host: &str,
        plaintext_port: Option<u16>,
        tls_port: Option<u16>,
        prefer_tls: bool,
    ) -> Result<Url>;

    /// Maps a URL that Druid handed out (a redirect `Location`, a leader URL,
    /// a task location) to one this client can reach, keeping path and query.
    fn map_url(&self, url: &Url) -> Result<Url> {
        let host = url
            .host_str()
            .ok_or_else(|| Error::invalid_input(format!("{url} has no host")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| Error::invalid_input(format!("{url} has no port")))?;
        let base = match url.scheme() {
            "https" => self.map(&host, None, Some(port), true)?,
            "http" => self.map(&host, Some(port), None, false)?,
            other => {
                return Err(Error::invalid_input(format!(
                    "{url} has the scheme {other:?}; only http and https are supported"
                )));
            }
        };
        let mut mapped = base;
        mapped.set_path(url.path());
        mapped.set_query(url.query());
        Ok(mapped)
    }

    /// A short description for `Debug` output.
    fn describe(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }
}

impl<F> ServiceMapper for F
where
    F: Fn(&str, Option<u16>, Option<u16>, bool) -> Result<Url> + Send + Sync,
{
    fn map(
        &self,
        host: &str,
        plaintext_port: Option<u16>,
        tls_port: Option<u16>,
        prefer_tls: bool,
    ) -> Result<Url> {
        self(host, plaintext_port, tls_port, prefer_tls)
    }

    fn describe(&self) -> String {
        "closure".to_owned()
    }
}

/// Uses the host and ports exactly as Druid reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdentityMapper;

impl ServiceMapper for IdentityMapper {
    fn map(
        &self,
        host: &str,
        plaintext_port: Option<u16>,
        tls_port: Option<u16>,
        prefer_tls: bool,
    ) -> Result<Url> {
        let (scheme, port) = choose_port(host, plaintext_port, tls_port, prefer_tls)?;
        service_url(scheme, host, port)
    }

    fn describe(&self) -> String {
        "IdentityMapper".to_owned()
    }
}

/// Reaches a cluster that runs in Docker (or behind any port-forwarding
/// host): every server is reached on `docker_host`, and ports are translated
/// through a Docker-style port map.
///
/// The port map is written as Docker writes it, `[external, internal]`: the
/// pair `[8899, 8888]` means the container's port 8888 is published on the
/// host's 8899. Ports without an entry pass through unchanged.
///
/// ```
/// use druid_transport::{DockerMapper, ServiceMapper};
/// let mapper = DockerMapper::new("localhost", [[8899, 8888]]);
/// let router = mapper.map("172.18.0.5", Some(8888), None, false).unwrap();
/// assert_eq!(router.as_str(), "http://localhost:8899/");
/// let coordinator = mapper.map("172.18.0.4", Some(8081), None, false).unwrap();
/// assert_eq!(coordinator.as_str(), "http://localhost:8081/");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DockerMapper {
    docker_host: String,
    /// internal port -> external port
    ports: HashMap<u16, u16>,
    pairs: Vec<[u16; 2]>,
}

impl DockerMapper {
    /// A mapper to `docker_host` with `[external, internal]` port pairs.
    pub fn new(
        docker_host: impl Into<String>,
        port_map: impl IntoIterator<Item = [u16; 2]>,
    ) -> Self {
        let pairs: Vec<[u16; 2]> = port_map.into_iter().collect();
        let ports = pairs
            .iter()
            .map(|[external, internal]| (*internal, *external))
            .collect();
        DockerMapper {
            docker_host: docker_host.into(),
            ports,
            pairs,
        }
    }

    /// Parses Docker's `-p` notation: `"8899:8888,8081:8081"` (external
    /// first). Whitespace around entries is ignored.
    pub fn parse(docker_host: impl Into<String>, port_map: &str) -> Result<Self> {
        let mut pairs = Vec::new();
        for entry in port_map.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parsed = entry.split_once(':').and_then(|(external, internal)| {
                Some([external.trim().parse().ok()?, internal.trim().parse().ok()?])
            });
            match parsed {
                Some(pair) => pairs.push(pair),
                None => {
                    return Err(Error::invalid_input(format!(
                        "{entry:?} is not a port mapping; write EXTERNAL:INTERNAL, e.g. 8899:8888"
                    )));
                }
            }
        }
        Ok(Self::new(docker_host, pairs))
    }

    /// The host every server is reached on.
    pub fn docker_host(&self) -> &str {
        &self.docker_host
    }

    /// The `[external, internal]` pairs, as given.
    pub fn port_map(&self) -> &[[u16; 2]] {
        &self.pairs
    }

    /// The external port for an internal one; unmapped ports pass through.
    pub fn external_port(&self, internal: u16) -> u16 {
        self.ports.get(&internal).copied().unwrap_or(internal)
    }
}

impl fmt::Debug for DockerMapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerMapper")
            .field("docker_host", &self.docker_host)
            .field("port_map", &self.pairs)
            .finish()
    }
}

impl ServiceMapper for DockerMapper {
    fn map(
        &self,
        host: &str,
        plaintext_port: Option<u16>,
        tls_port: Option<u16>,
        prefer_tls: bool,
    ) -> Result<Url> {
        let (scheme, port) = choose_port(host, plaintext_port, tls_port, prefer_tls)?;
        service_url(scheme, &self.docker_host, self.external_port(port))
    }

    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_choice() {
        assert_eq!(
            choose_port("h", Some(80), Some(443), false).unwrap(),
            (Scheme::Http, 80)
        );
        assert_eq!(
            choose_port("h", Some(80), Some(443), true).unwrap(),
            (Scheme::Https, 443)
        );
        assert_eq!(
            choose_port("h", Some(80), None, true).unwrap(),
            (Scheme::Http, 80)
        );
        assert_eq!(
            choose_port("h", None, Some(443), false).unwrap(),
            (Scheme::Https, 443)
        );
        assert!(choose_port("h", None, None, true).is_err());
    }

    #[test]
    fn identity_keeps_host_and_brackets_ipv6() {
        let m = IdentityMapper;
        assert_eq!(
            m.map("druid-broker", Some(8082), None, false)
                .unwrap()
                .as_str(),
            "http://druid-broker:8082/"
        );
        assert_eq!(
            m.map("::1", None, Some(8282), false).unwrap().as_str(),
            "https://[::1]:8282/"
        );
    }

    /// Found by the `sys_servers` fuzz target: a `host` of `a@b/c?d#e`
    /// made `http://a@b/c?d#e:1`, a URL to host `b` on port 80 with user
    /// `a`, path `/c` and a query.
    #[test]
    fn a_host_with_other_url_parts_is_refused() {
        for host in [
            "a@b/c?d#e",
            "user@host",
            "host/path",
            "host?q",
            "host#f",
            "h\\x",
            "a:b@c",
        ] {
            for scheme in [Scheme::Http, Scheme::Https] {
                let result = service_url(scheme, host, 1);
                assert!(result.is_err(), "{host:?} made {result:?}");
            }
            let mapped = IdentityMapper.map(host, Some(8081), None, false);
            assert!(mapped.is_err(), "{host:?} made {mapped:?}");
        }
        // Plain names and addresses still work, the default port included.
        for (host, port, url) in [
            ("broker.example", 8082, "http://broker.example:8082/"),
            ("10.0.0.1", 80, "http://10.0.0.1/"),
            ("::1", 8081, "http://[::1]:8081/"),
            ("[::1]", 8081, "http://[::1]:8081/"),
        ] {
            assert_eq!(service_url(Scheme::Http, host, port).unwrap().as_str(), url);
        }
    }

    #[test]
    fn docker_mapper_documented_example() {
        let m = DockerMapper::new("localhost", [[8899, 8888]]);
        assert_eq!(
            m.map("172.18.0.5", Some(8888), None, false)
                .unwrap()
                .as_str(),
            "http://localhost:8899/"
        );
    }

    #[test]
    fn docker_mapper_unmapped_ports_pass_through_and_host_changes() {
        let m = DockerMapper::new("docker.example", [[8899, 8888]]);
        assert_eq!(
            m.map("172.18.0.4", Some(8081), None, false)
                .unwrap()
                .as_str(),
            "http://docker.example:8081/"
        );
    }

    #[test]
    fn docker_mapper_tls_preference_maps_the_tls_port() {
        let m = DockerMapper::new("localhost", [[18081, 8081], [18281, 8281]]);
        assert_eq!(
            m.map("c", Some(8081), Some(8281), true).unwrap().as_str(),
            "https://localhost:18281/"
        );
        assert_eq!(
            m.map("c", Some(8081), Some(8281), false).unwrap().as_str(),
            "http://localhost:18081/"
        );
        // TLS-only server, no preference: still TLS.
        assert_eq!(
            m.map("c", None, Some(8281), false).unwrap().as_str(),
            "https://localhost:18281/"
        );
    }

    #[test]
    fn docker_mapper_parse() {
        let m = DockerMapper::parse("localhost", " 8899:8888, 18081:8081 ").unwrap();
        assert_eq!(m.port_map(), &[[8899, 8888], [18081, 8081]]);
        let err = DockerMapper::parse("localhost", "8899-8888").unwrap_err();
        assert!(err.to_string().contains("EXTERNAL:INTERNAL"));
        assert!(DockerMapper::parse("localhost", "99999:1").is_err());
    }

    #[test]
    fn map_url_keeps_path_and_query() {
        let m = DockerMapper::new("localhost", [[18081, 8081]]);
        let url = Url::parse("http://172.18.0.4:8081/druid/indexer/v1/task?x=%2F").unwrap();
        assert_eq!(
            m.map_url(&url).unwrap().as_str(),
            "http://localhost:18081/druid/indexer/v1/task?x=%2F"
        );
        let tls = Url::parse("https://172.18.0.4:8281/a%20b").unwrap();
        assert_eq!(
            m.map_url(&tls).unwrap().as_str(),
            "https://localhost:8281/a%20b"
        );
        assert!(m.map_url(&Url::parse("ftp://x:21/").unwrap()).is_err());
    }

    #[test]
    fn closures_are_mappers() {
        let f = |_: &str, p: Option<u16>, _: Option<u16>, _: bool| {
            service_url(Scheme::Http, "gw", p.unwrap_or(1))
        };
        assert_eq!(
            f.map("x", Some(5), None, false).unwrap().as_str(),
            "http://gw:5/"
        );
        assert_eq!(ServiceMapper::describe(&f), "closure");
    }
}
