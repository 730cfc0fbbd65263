//! The settings in effect, as a `druid_api::Client`.

use std::io::IsTerminal as _;

use druid_api::Client;
use druid_api::transport::DockerMapper;
use druid_api::transport::url::Url;

use crate::fail::Failure;
use crate::settings::{PasswordFrom, Settings};

/// The user agent, so that Druid's request logs name the tool.
const USER_AGENT: &str = concat!("druid-cli/", env!("CARGO_PKG_VERSION"));

/// The password, from wherever the settings say.
fn password(from: &PasswordFrom, user: &str) -> Result<String, Failure> {
    match from {
        PasswordFrom::Env(_, value) => Ok(value.clone()),
        PasswordFrom::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::usage(format!(
                    "cannot read the password file {}: {e}",
                    path.display()
                ))
            })?;
            let line = text.lines().next().unwrap_or_default().to_owned();
            if line.is_empty() {
                return Err(Failure::usage(format!(
                    "the password file {} is empty",
                    path.display()
                )));
            }
            Ok(line)
        }
        PasswordFrom::Prompt => {
            if !std::io::stdin().is_terminal() {
                return Err(Failure::usage(
                    "a password prompt needs a terminal; set $DRUID_PASSWORD or use --password-file",
                ));
            }
            rpassword::prompt_password(format!("password for {user}: "))
                .map_err(|e| Failure::usage(format!("cannot read the password: {e}")))
        }
    }
}

/// Builds the client of the settings.
pub(crate) fn client(settings: &Settings) -> Result<Client, Failure> {
    let url = &settings.url.value;
    let parsed = Url::parse(url).map_err(|e| {
        Failure::usage(format!(
            "{url:?} (from {}) is not a URL: {e}; write e.g. http://localhost:8888",
            settings.url.source
        ))
    })?;
    let mut builder = Client::builder()
        .url(url.clone())
        .user_agent(USER_AGENT)
        .prefer_tls(settings.prefer_tls.value)
        .read_only(settings.read_only.value);
    match (&settings.user, &settings.password) {
        (Some(user), Some(from)) => {
            builder = builder.basic_auth(user.value.clone(), password(&from.value, &user.value)?);
        }
        (Some(user), None) => {
            // A user with no password source: ask, when someone can answer.
            let password = password(&PasswordFrom::Prompt, &user.value).map_err(|_| {
                Failure::usage(format!(
                    "user {} (from {}) has no password; set $DRUID_PASSWORD, use \
                     --password-file or --password-prompt",
                    user.value, user.source
                ))
            })?;
            builder = builder.basic_auth(user.value.clone(), password);
        }
        (None, Some(from)) => {
            return Err(Failure::usage(format!(
                "a password is given (from {}) but no user; set --user or $DRUID_USER",
                from.source
            )));
        }
        (None, None) => {}
    }
    if let Some(ca) = &settings.ca_cert {
        builder = builder.ca_cert_file(ca.value.clone());
    }
    if let Some(identity) = &settings.client_cert {
        builder = builder.client_identity_file(identity.value.clone());
    }
    if let Some(timeout) = &settings.timeout {
        builder = builder.timeout(timeout.value);
    }
    if let Some(map) = &settings.port_map {
        let host = parsed.host_str().unwrap_or("localhost");
        let mapper = DockerMapper::parse(host, &map.value)
            .map_err(|e| Failure::usage(format!("--port-map (from {}): {e}", map.source)))?;
        builder = builder.mapper(mapper);
    }
    builder.build().map_err(Failure::from)
}
