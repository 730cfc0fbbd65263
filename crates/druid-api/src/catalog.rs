//! The catalog of generated endpoints, for tools and lookups.
//!
//! ```
//! let hits = druid_api::catalog::find("GET", "/druid/indexer/v1/task/abc/status");
//! assert!(hits.iter().any(|e| e.client == "OverlordClient" && e.id == "task_status"));
//! ```

/// One generated endpoint of one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointInfo {
    /// The client type, e.g. `OverlordClient`.
    pub client: &'static str,
    /// The service, e.g. `Overlord`.
    pub service: &'static str,
    /// The spec group (file) it comes from.
    pub group: &'static str,
    /// The method name.
    pub id: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The path template, `{param}` for parameters.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Whether it is deprecated.
    pub deprecated: bool,
    /// Whether it is a `GET` (reads, changes nothing).
    pub side_effect_free: bool,
}

impl EndpointInfo {
    /// Whether a concrete path (no query) matches the template.
    pub fn matches_path(&self, path: &str) -> bool {
        let template: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
        template.len() == actual.len()
            && template
                .iter()
                .zip(&actual)
                .all(|(t, a)| (t.starts_with('{') && t.ends_with('}') && !a.is_empty()) || t == a)
    }
}

/// Every generated endpoint, per client, in spec order.
pub fn endpoints() -> &'static [EndpointInfo] {
    crate::ENDPOINTS
}

/// The endpoints a request matches: method (`GET`) and path (query ignored).
/// A path that is a literal match wins over templates (`/rules/history` is
/// not `/rules/{dataSource}`).
pub fn find(method: &str, path: &str) -> Vec<&'static EndpointInfo> {
    let path = path.split('?').next().unwrap_or_default();
    let hits: Vec<&'static EndpointInfo> = endpoints()
        .iter()
        .filter(|e| e.method.eq_ignore_ascii_case(method) && e.matches_path(path))
        .collect();
    let exact: Vec<&'static EndpointInfo> =
        hits.iter().copied().filter(|e| e.path == path).collect();
    if exact.is_empty() { hits } else { exact }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_templates_and_prefers_literals() {
        let hits = find("GET", "/druid/coordinator/v1/rules/history");
        assert!(hits.iter().all(|e| e.id == "rules_history"), "{hits:?}");
        let hits = find("GET", "/druid/coordinator/v1/rules/wiki");
        assert!(hits.iter().any(|e| e.id == "rules"));
        assert!(find("PATCH", "/status").is_empty());
        let status: Vec<_> = find("get", "/status?x")
            .into_iter()
            .map(|e| e.client)
            .collect();
        assert!(status.contains(&"CoordinatorClient") && status.contains(&"PeonClient"));
    }
}
