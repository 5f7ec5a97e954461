//! Which ImageStreams the catalog is built from. `serve` watches every namespace's streams by
//! default, so the scan lists them all too, whatever namespace it reports on: cross-namespace
//! triggers resolve and registry loads count cluster-wide, as the webhook sees them. Someone
//! allowed to list streams in one namespace only still gets a scan of that namespace, with a
//! note. It owns no decision about the objects listed.

use serde_json::Value;

use super::api::{ApiError, Cluster};
use super::resources::IMAGE_STREAMS;
use super::streams::TagTable;
use crate::catalog::CatalogIndex;
use crate::config::RuleConfig;

/// How the catalog's streams were listed.
pub struct Listing {
    /// The request result (its count of requests, or why it failed).
    pub result: Result<usize, ApiError>,
    /// The namespace listed, `None` for all.
    pub scope: Option<String>,
    /// Said once on standard error when the catalog covers less than the cluster.
    pub note: Option<String>,
}

/// List the catalog's streams into `each`: cluster-wide, or `namespace`'s when cluster-wide is
/// forbidden.
pub async fn list(
    cluster: &Cluster,
    namespace: Option<&str>,
    mut each: impl FnMut(Value),
) -> Listing {
    let result = cluster.list(&IMAGE_STREAMS, None, &mut each).await;
    match (result, namespace) {
        (Err(error @ ApiError::Forbidden { .. }), Some(ns)) => Listing {
            result: cluster.list(&IMAGE_STREAMS, Some(ns), &mut each).await,
            scope: Some(ns.to_string()),
            note: Some(format!(
                "the catalog holds the ImageStreams of {ns} only: {error}"
            )),
        },
        (result, _) => Listing {
            result,
            scope: None,
            note: None,
        },
    }
}

/// The catalog, the tag table and the listed streams one object is explained with. Clusters
/// without ImageStreams give empty ones.
pub async fn of(
    cluster: &Cluster,
    namespace: &str,
    rules: &RuleConfig,
) -> Result<(CatalogIndex, TagTable, Vec<Value>), ApiError> {
    let mut catalog = CatalogIndex::new();
    let mut streams = Vec::new();
    let listing = list(cluster, Some(namespace), |stream| {
        catalog.upsert(&stream, "");
        streams.push(stream);
    })
    .await;
    let mut tags = TagTable::new(listing.scope);
    for stream in &streams {
        tags.insert_stream(stream, &catalog, rules);
    }
    match listing.result {
        Ok(_) => Ok((catalog, tags, streams)),
        Err(ApiError::NotServed { .. }) => {
            tags.mark_unlisted();
            Ok((catalog, tags, streams))
        }
        Err(error) => Err(error),
    }
}
