//! TLS material for `--secure`: a private CA and a `localhost` server certificate signed by it,
//! made with the JDK's `keytool` (generated once per state directory).
//!
//! Files under `<state>/tls/`: `ca.p12` + `ca.crt` (the CA; clients trust `ca.crt`),
//! `server.p12` (key store with the CA and the server certificate, alias `druid`),
//! `truststore.p12` (Druid's client trust store: the CA).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use super::config::TLS_PASSWORD;

/// Creates the TLS material under `tls` unless `server.p12` already exists.
/// Returns whether anything was generated.
pub(crate) fn ensure(tls: &Path, java_home: &Path) -> Result<bool, String> {
    if tls.join("server.p12").is_file() {
        return Ok(false);
    }
    // A previous half-finished attempt would make keytool fail with "alias already exists".
    if tls.exists() {
        fs::remove_dir_all(tls).map_err(|e| format!("cannot remove {}: {e}", tls.display()))?;
    }
    fs::create_dir_all(tls).map_err(|e| format!("cannot create {}: {e}", tls.display()))?;
    let keytool = java_home.join("bin/keytool");
    for step in keytool_steps(tls) {
        let output = Command::new(&keytool)
            .args(&step)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", keytool.display()))?;
        if !output.status.success() {
            return Err(format!(
                "keytool {} failed ({}):\n{}{}",
                step.first().map(String::as_str).unwrap_or_default(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(true)
}

/// The keytool invocations of the recipe (section 13 of the research notes), one per entry.
#[rustfmt::skip]
fn keytool_steps(tls: &Path) -> Vec<Vec<String>> {
    let p = TLS_PASSWORD;
    let ca_p12 = tls.join("ca.p12").display().to_string();
    let ca_crt = tls.join("ca.crt").display().to_string();
    let server_p12 = tls.join("server.p12").display().to_string();
    let server_csr = tls.join("server.csr").display().to_string();
    let server_crt = tls.join("server.crt").display().to_string();
    let truststore = tls.join("truststore.p12").display().to_string();
    let steps: [&[&str]; 8] = [
        // the CA (basic constraints: CA=true), and its certificate for clients (ca.crt)
        &["-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048", "-validity", "3650",
          "-dname", "CN=Druid Test CA", "-ext", "bc:c",
          "-keystore", &ca_p12, "-storetype", "PKCS12", "-storepass", p, "-keypass", p],
        &["-exportcert", "-alias", "ca", "-keystore", &ca_p12, "-storepass", p, "-rfc", "-file", &ca_crt],
        // the server key, its CSR, and the certificate the CA signs (SAN localhost/127.0.0.1)
        &["-genkeypair", "-alias", "druid", "-keyalg", "RSA", "-keysize", "2048", "-validity", "3650",
          "-dname", "CN=localhost",
          "-keystore", &server_p12, "-storetype", "PKCS12", "-storepass", p, "-keypass", p],
        &["-certreq", "-alias", "druid", "-keystore", &server_p12, "-storepass", p, "-file", &server_csr],
        &["-gencert", "-alias", "ca", "-keystore", &ca_p12, "-storepass", p,
          "-infile", &server_csr, "-outfile", &server_crt, "-rfc", "-validity", "3650",
          "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-ext", "EKU=serverAuth,clientAuth"],
        // the chain into the server key store, the CA into Druid's client trust store
        &["-importcert", "-noprompt", "-alias", "ca", "-file", &ca_crt, "-keystore", &server_p12, "-storepass", p],
        &["-importcert", "-alias", "druid", "-file", &server_crt, "-keystore", &server_p12, "-storepass", p],
        &["-importcert", "-noprompt", "-alias", "ca", "-file", &ca_crt,
          "-keystore", &truststore, "-storetype", "PKCS12", "-storepass", p],
    ];
    steps
        .iter()
        .map(|step| step.iter().map(|a| (*a).to_owned()).collect())
        .collect()
}
