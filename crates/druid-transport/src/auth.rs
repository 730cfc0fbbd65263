//! Credentials: HTTP Basic, a static bearer token, or a token provider the
//! transport asks before each request.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine as _;
use http::header::HeaderValue;

use crate::error::{BoxError, Error, Result};

/// HTTP Basic credentials. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    username: String,
    password: String,
}

impl BasicAuth {
    /// Credentials for a user.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        BasicAuth {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    pub(crate) fn header_value(&self) -> Result<HeaderValue> {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.username, self.password));
        sensitive(format!("Basic {token}"), "the Basic auth credentials")
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The future a [`TokenProvider`] answers with.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<String, BoxError>> + Send + 'a>>;

/// Gives the bearer token to send, asked before every request (redirects
/// and retries included), so that tokens can expire and be renewed.
///
/// The transport does not cache what it gets: a provider that fetches
/// tokens from elsewhere keeps the current one and renews it itself. Any
/// `Fn() -> impl Future<Output = Result<String, BoxError>>` is a provider.
///
/// ```
/// use druid_transport::Transport;
/// let transport = Transport::builder()
///     .bearer_token_provider(|| async { Ok::<_, druid_transport::BoxError>("a-fresh-token".to_owned()) })
///     .build()?;
/// # Ok::<(), druid_transport::Error>(())
/// ```
pub trait TokenProvider: Send + Sync + 'static {
    /// The token to send now, without the `Bearer ` prefix.
    fn token(&self) -> TokenFuture<'_>;
}

impl<F, Fut> TokenProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<String, BoxError>> + Send + 'static,
{
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(self())
    }
}

/// The credentials a transport sends.
#[derive(Clone, Default)]
pub(crate) enum Auth {
    /// None.
    #[default]
    None,
    /// HTTP Basic.
    Basic(BasicAuth, HeaderValue),
    /// A fixed bearer token.
    Bearer(HeaderValue),
    /// A bearer token asked for before each request.
    Provider(Arc<dyn TokenProvider>),
}

impl Auth {
    pub(crate) fn basic(auth: BasicAuth) -> Result<Self> {
        let header = auth.header_value()?;
        Ok(Auth::Basic(auth, header))
    }

    pub(crate) fn bearer(token: &str) -> Result<Self> {
        Ok(Auth::Bearer(sensitive(
            format!("Bearer {token}"),
            "the bearer token",
        )?))
    }

    pub(crate) fn is_none(&self) -> bool {
        matches!(self, Auth::None)
    }

    /// The `Authorization` header to send now.
    pub(crate) async fn header_value(&self) -> Result<Option<HeaderValue>> {
        match self {
            Auth::None => Ok(None),
            Auth::Basic(_, header) | Auth::Bearer(header) => Ok(Some(header.clone())),
            Auth::Provider(provider) => {
                let token = provider
                    .token()
                    .await
                    .map_err(|source| Error::Credentials { source })?;
                sensitive(format!("Bearer {token}"), "the provided bearer token").map(Some)
            }
        }
    }
}

/// Never shows a secret: the user name of Basic credentials, and only the
/// kind of the others.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic(basic, _) => fmt::Debug::fmt(basic, f),
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Auth::Provider(_) => f.write_str("BearerProvider"),
        }
    }
}

/// A header value marked sensitive (HTTP/2 never indexes it, `Debug` hides it).
fn sensitive(text: String, what: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::try_from(text)
        .map_err(|_| Error::config(format!("{what} is not valid header text")))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_kind_gives_its_header_and_hides_it() {
        let basic = Auth::basic(BasicAuth::new("admin", "pw")).unwrap();
        assert_eq!(
            basic.header_value().await.unwrap().unwrap(),
            "Basic YWRtaW46cHc="
        );
        let bearer = Auth::bearer("t0ken").unwrap();
        assert_eq!(
            bearer.header_value().await.unwrap().unwrap(),
            "Bearer t0ken"
        );
        let provider = Auth::Provider(Arc::new(|| async { Ok::<_, BoxError>("fresh".to_owned()) }));
        assert_eq!(
            provider.header_value().await.unwrap().unwrap(),
            "Bearer fresh"
        );
        for auth in [&basic, &bearer, &provider] {
            let text = format!("{auth:?}");
            assert!(!text.contains("pw") && !text.contains("t0ken"), "{text}");
        }
        let failing = Auth::Provider(Arc::new(|| async {
            Err::<String, BoxError>("the vault is sealed".into())
        }));
        let err = failing.header_value().await.unwrap_err();
        assert!(matches!(err, Error::Credentials { .. }), "{err:?}");
        assert!(Auth::bearer("bad\ntoken").is_err());
    }
}
