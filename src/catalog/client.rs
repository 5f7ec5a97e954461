//! Building the Kubernetes client the catalog watch uses: from an explicit kubeconfig file, or
//! inferred (the default kubeconfig, then the in-cluster service account). It owns the error
//! that tells the server it has no cluster access, so `serve` can run without a catalog and say
//! so. It must not start any watch.

use std::path::{Path, PathBuf};

use kube::config::{Config, InferConfigError, KubeConfigOptions, Kubeconfig, KubeconfigError};

/// Why no catalog client could be built.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Neither a kubeconfig nor an in-cluster service account was found.
    #[error("no cluster access (no kubeconfig and not running in a pod): {0}")]
    NoClusterAccess(#[source] InferConfigError),
    /// The given kubeconfig file could not be read or used.
    #[error("cannot use kubeconfig {path}: {source}")]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: KubeconfigError,
    },
    /// The configuration was found but the client could not be built from it.
    #[error("cannot build a Kubernetes client: {0}")]
    Client(#[source] kube::Error),
}

/// A client from `kubeconfig` when given, otherwise inferred from the environment the way
/// `kubectl` does (default kubeconfig, then in-cluster configuration).
pub async fn client_from_env(kubeconfig: Option<&Path>) -> Result<kube::Client, CatalogError> {
    let config = match kubeconfig {
        Some(path) => config_from_file(path).await?,
        None => Config::infer()
            .await
            .map_err(CatalogError::NoClusterAccess)?,
    };
    kube::Client::try_from(config).map_err(CatalogError::Client)
}

async fn config_from_file(path: &Path) -> Result<Config, CatalogError> {
    let error = |source| CatalogError::Kubeconfig {
        path: path.to_owned(),
        source,
    };
    let kubeconfig = Kubeconfig::read_from(path).map_err(error)?;
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_kubeconfig_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("absent-kubeconfig");
        let Err(error) = client_from_env(Some(&path)).await else {
            panic!("a missing kubeconfig file must be an error");
        };
        assert!(matches!(error, CatalogError::Kubeconfig { .. }));
        assert!(error.to_string().contains("absent-kubeconfig"));
    }

    #[tokio::test]
    async fn kubeconfig_file_pointing_at_loopback_builds_a_client() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, LOOPBACK_KUBECONFIG).expect("write kubeconfig");
        client_from_env(Some(&path)).await.expect("client");
    }

    const LOOPBACK_KUBECONFIG: &str = "apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: 'http://127.0.0.1:1'}
users:
- name: me
  user: {token: not-a-secret}
contexts:
- name: local
  context: {cluster: local, user: me}
current-context: local
";
}
