//! The settings in effect, as a `druid_api::Client`.

use std::io::IsTerminal as _;

use druid_api::Client;
use druid_api::transport::DockerMapper;
use druid_api::transport::url::Url;

use crate::fail::Failure;
use crate::settings::{PasswordFrom, Settings};

/// The user agent, so that Druid's request logs name the tool.
const USER_AGENT: &str = concat!("druid-cli/", env!("CARGO_PKG_VERSION"));

/// The most of a password file that is read: its first line is the
/// password, and nothing else of it is kept.
const PASSWORD_FILE_LIMIT: u64 = 4096;

/// The first line of a password file that only its owner can read (as ssh
/// wants of a key): a file others can read has leaked the password
/// already, and is refused with how to fix it.
fn password_file(path: &std::path::Path) -> Result<String, Failure> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| {
        Failure::usage(format!(
            "cannot read the password file {}: {e}",
            path.display()
        ))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file
            .metadata()
            .map(|m| m.permissions().mode())
            .map_err(|e| {
                Failure::usage(format!(
                    "cannot read the password file {}: {e}",
                    path.display()
                ))
            })?;
        if mode & 0o077 != 0 {
            return Err(Failure::usage(format!(
                "the password file {} can be read by others (mode {:03o}); make it yours \
                 alone: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    let mut bytes = Vec::new();
    file.take(PASSWORD_FILE_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Failure::usage(format!(
                "cannot read the password file {}: {e}",
                path.display()
            ))
        })?;
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let line = String::from_utf8(first.to_vec()).map_err(|_| {
        Failure::usage(format!(
            "the first line of the password file {} is not UTF-8 text",
            path.display()
        ))
    })?;
    if line.is_empty() {
        return Err(Failure::usage(format!(
            "the password file {} is empty",
            path.display()
        )));
    }
    Ok(line)
}

/// The password, from wherever the settings say.
fn password(from: &PasswordFrom, user: &str) -> Result<String, Failure> {
    match from {
        PasswordFrom::Env(_, value) => Ok(value.clone()),
        PasswordFrom::File(path) => password_file(path),
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
            "{:?} (from {}) is not a URL: {e}; write e.g. http://localhost:8888",
            druid_api::transport::redact_url_text(url),
            settings.url.source
        ))
    })?;
    let mut builder = Client::builder()
        .url(url.clone())
        .user_agent(USER_AGENT)
        .allow_plaintext_credentials(settings.allow_plaintext_credentials.value)
        .read_only(settings.read_only.value);
    if let Some(prefer) = &settings.prefer_tls {
        builder = builder.prefer_tls(prefer.value);
    }
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

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_password_file_must_be_its_owners_alone() {
        let dir = std::env::temp_dir().join(format!("druid-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pw");
        std::fs::write(&path, "s3cret\r\nsecond line\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = password_file(&path).unwrap_err();
        assert!(
            err.message.contains("can be read by others (mode 644)")
                && err.message.contains("chmod 600"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("s3cret"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(password_file(&path).unwrap(), "s3cret");
        // Only the start of a huge file is read.
        std::fs::write(&path, format!("pw\n{}", "x".repeat(10 << 20))).unwrap();
        assert_eq!(password_file(&path).unwrap(), "pw");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
