//! The bearer token of Vertex calls: a fixed token (`--access-token`, `BATCHLINE_ACCESS_TOKEN`), or
//! Application Default Credentials with the `cloud-platform` scope.
//!
//! ADC comes from object_store's Google provider, the same one the storage layer's `gs://` access
//! uses: it reads `GOOGLE_APPLICATION_CREDENTIALS` or gcloud's `application_default_credentials.json`
//! (service account keys are signed into self-signed JWTs with the `cloud-platform` scope; user
//! credentials are refreshed), else asks the metadata server, and caches tokens until shortly
//! before they expire. It adds no crate to the build (`gcp_auth` or Google's `google-cloud-auth`
//! would add dozens; see docs/vertex.md for the measurement). What it does not cover: workload
//! identity federation (`external_account`) and impersonated credentials; for those, pass a token
//! (`gcloud auth print-access-token`).
//!
//! A token is never logged or put into an error message.

use std::fmt;
use std::sync::Arc;

use object_store::gcp::{GcpCredential, GoogleCloudStorageBuilder};
use object_store::CredentialProvider;

use super::VertexError;

/// Where the token comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthConfig {
    /// This token, as is.
    Token(String),
    /// Application Default Credentials (scope `cloud-platform`).
    ApplicationDefault,
    /// No `Authorization` header (a local emulator that does not check).
    None,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfig::Token(_) => f.write_str("Token(<redacted>)"),
            AuthConfig::ApplicationDefault => f.write_str("ApplicationDefault"),
            AuthConfig::None => f.write_str("None"),
        }
    }
}

impl AuthConfig {
    /// `--access-token` if given, else `BATCHLINE_ACCESS_TOKEN` if set and not empty, else ADC.
    pub fn from_flag_or_env(flag: Option<&str>) -> AuthConfig {
        let env = std::env::var("BATCHLINE_ACCESS_TOKEN").ok();
        match flag.or(env.as_deref()).filter(|t| !t.is_empty()) {
            Some(t) => AuthConfig::Token(t.to_string()),
            None => AuthConfig::ApplicationDefault,
        }
    }
}

/// A source of bearer tokens, cheap to clone.
#[derive(Clone)]
pub struct Auth(Source);

#[derive(Clone)]
enum Source {
    Fixed(Arc<str>),
    Provider(Arc<dyn CredentialProvider<Credential = GcpCredential>>),
    None,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Source::Fixed(_) => "Auth(token)",
            Source::Provider(_) => "Auth(application default credentials)",
            Source::None => "Auth(none)",
        })
    }
}

impl Auth {
    /// Sets up `config`. For ADC this reads the credentials file (if any) but sends nothing; the
    /// first token is fetched by the first [`bearer`](Self::bearer).
    pub fn new(config: &AuthConfig) -> Result<Auth, VertexError> {
        Ok(Auth(match config {
            AuthConfig::Token(t) => Source::Fixed(t.as_str().into()),
            AuthConfig::None => Source::None,
            AuthConfig::ApplicationDefault => {
                // The bucket name is required by the builder and never used: only the
                // credential provider is taken from it.
                let gcs = GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name("batchline-vertex-auth")
                    .build()
                    .map_err(|e| VertexError::Auth(e.to_string()))?;
                Source::Provider(Arc::clone(gcs.credentials()))
            }
        }))
    }

    /// The token to send, `None` for no header.
    pub async fn bearer(&self) -> Result<Option<Arc<str>>, VertexError> {
        match &self.0 {
            Source::Fixed(t) => Ok(Some(Arc::clone(t))),
            Source::None => Ok(None),
            Source::Provider(p) => {
                let c = p.get_credential().await.map_err(|e| {
                    VertexError::Auth(format!(
                        "application default credentials: {e} (or pass --access-token)"
                    ))
                })?;
                Ok(Some(c.bearer.as_str().into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_show_in_debug_output() {
        let c = AuthConfig::Token("ya29.secret".into());
        assert_eq!(format!("{c:?}"), "Token(<redacted>)");
        let a = Auth::new(&c).unwrap();
        assert_eq!(format!("{a:?}"), "Auth(token)");
    }
}
