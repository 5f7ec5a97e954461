//! The table and the JSON report of a scan. The table is for people: one line per object
//! (namespace, kind, name, status, detail) and a summary (counts per status, and per registry the
//! scheduled tags, the pulls they cost and the budget). The JSON report is for machines and its
//! schema is stable (`schema: autoredeploy.io/scan/v1`, documented in docs/scan.md). Pure
//! formatting; it must not decide any status.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::classify::Status;
use super::fix::FixResult;
use super::image::{Answer, Redeploys, TagAnswer, WorkloadAnswer};
use super::streams::RegistryLoad;
use super::{Scan, ScannedObject};

/// The version of the JSON report's schema; bumped only when a field changes meaning or goes.
pub const JSON_SCHEMA: &str = "autoredeploy.io/scan/v1";

/// The table, then the summary.
pub fn table(scan: &Scan) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "NAMESPACE".into(),
        "KIND".into(),
        "NAME".into(),
        "STATUS".into(),
        "DETAIL".into(),
    ]];
    rows.extend(sorted(&scan.objects).into_iter().map(|o| {
        [
            o.namespace().to_string(),
            o.kind().to_string(),
            o.name().to_string(),
            o.status.label().to_string(),
            o.detail.clone(),
        ]
    }));
    let mut widths = [0usize; 4];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        line.push_str(&row[4]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&summary(scan));
    out
}

/// Objects by namespace, kind (streams first) and name.
fn sorted(objects: &[ScannedObject]) -> Vec<&ScannedObject> {
    let rank = |kind: &str| super::resources::all().position(|r| r.kind == kind);
    let mut sorted: Vec<&ScannedObject> = objects.iter().collect();
    sorted.sort_by(|a, b| {
        (a.namespace(), rank(a.kind()), a.name()).cmp(&(b.namespace(), rank(b.kind()), b.name()))
    });
    sorted
}

/// Count per status, most urgent first.
pub fn status_counts(objects: &[ScannedObject]) -> BTreeMap<Status, usize> {
    let mut counts = BTreeMap::new();
    for object in objects {
        *counts.entry(object.status).or_insert(0) += 1;
    }
    counts
}

fn summary(scan: &Scan) -> String {
    let counts = status_counts(&scan.objects);
    let parts: Vec<String> = counts
        .iter()
        .map(|(status, n)| format!("{n} {}", status.label()))
        .collect();
    let mut out = format!("{} objects", scan.objects.len());
    if !parts.is_empty() {
        let _ = write!(out, ": {}", parts.join(", "));
    }
    out.push('\n');
    if !scan.registries.is_empty() {
        out.push('\n');
        out.push_str(&registry_table(&scan.registries));
    }
    out
}

fn registry_table(loads: &[RegistryLoad]) -> String {
    let mut rows = vec![[
        "REGISTRY".to_string(),
        "SCHEDULED TAGS".into(),
        "PULLS".into(),
        "AFTER FIX".into(),
        "PULLS AFTER FIX".into(),
        "BUDGET".into(),
    ]];
    for load in loads {
        let budget = match load.budget_pulls {
            Some(pulls) => format!("{pulls}/{}", load.window),
            None => "unlimited".into(),
        };
        let per_window = |pulls: u64| format!("{pulls}/{}", load.window);
        rows.push([
            load.registry.clone(),
            load.scheduled_tags.to_string(),
            per_window(load.projected_pulls),
            load.scheduled_tags_after_fix.to_string(),
            per_window(load.projected_pulls_after_fix),
            budget,
        ]);
    }
    let width = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for row in rows {
        let _ = writeln!(
            out,
            "{:<width$}  {:>14}  {:>8}  {:>9}  {:>15}  {:>9}",
            row[0], row[1], row[2], row[3], row[4], row[5]
        );
    }
    out
}

/// The JSON report.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    pub schema: &'static str,
    /// The namespace scanned, `null` for all namespaces.
    pub namespace: Option<&'a str>,
    /// Where the webhook's scope came from: `MutatingWebhookConfiguration NAME`, or `the
    /// chart's defaults`.
    pub scope: Option<String>,
    pub objects: Vec<&'a ScannedObject>,
    pub summary: JsonSummary<'a>,
    /// Kinds skipped, a catalog limited to one namespace: one sentence each.
    pub notes: &'a [String],
    pub errors: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixes: Option<&'a [FixResult]>,
}

#[derive(Debug, Serialize)]
pub struct JsonSummary<'a> {
    pub objects: usize,
    /// List requests the scan made (pages of `--page-size` objects).
    pub list_requests: usize,
    pub statuses: BTreeMap<Status, usize>,
    pub registries: &'a [RegistryLoad],
}

impl<'a> JsonReport<'a> {
    pub fn new(scan: &'a Scan, namespace: Option<&'a str>, fixes: Option<&'a [FixResult]>) -> Self {
        JsonReport {
            schema: JSON_SCHEMA,
            namespace,
            scope: scan.scope.as_ref().map(|s| s.source.to_string()),
            objects: sorted(&scan.objects),
            summary: JsonSummary {
                objects: scan.objects.len(),
                list_requests: scan.requests,
                statuses: status_counts(&scan.objects),
                registries: &scan.registries,
            },
            notes: &scan.notes,
            errors: &scan.errors,
            fixes,
        }
    }
}

/// The version of `scan --image --output json`'s schema.
pub const IMAGE_JSON_SCHEMA: &str = "autoredeploy.io/scan-image/v1";

/// `scan --image`: the tags importing the image, the workload containers following them,
/// and a summary line.
pub fn image_table(answer: &Answer) -> String {
    let mut out = String::new();
    let Some(none) = answer.none_imports() else {
        let _ = writeln!(
            out,
            "ImageStream tags importing {}:",
            answer.image.canonical
        );
        let mut rows = vec![vec![
            "NAMESPACE".to_string(),
            "TAG".into(),
            "SOURCE".into(),
            "RE-IMPORTED".into(),
        ]];
        rows.extend(answer.tags.iter().map(|t| {
            let mut imported = t.imported_label();
            if let Some(failing) = &t.import_failing {
                let _ = write!(imported, " (last import failed: {failing})");
            }
            vec![
                t.namespace.clone(),
                format!("{}:{}", t.stream, t.tag),
                t.source_label(),
                imported,
            ]
        }));
        out.push_str(&columns(&rows));
        out.push('\n');
        workload_rows(answer, &mut out);
        return out;
    };
    let _ = writeln!(out, "{none}");
    if !answer.workloads.is_empty() {
        out.push('\n');
        workload_rows(answer, &mut out);
    }
    out
}

fn workload_rows(answer: &Answer, out: &mut String) {
    if answer.workloads.is_empty() {
        let _ = writeln!(out, "No workload follows them or runs the image.");
    } else {
        let _ = writeln!(out, "Workloads it reaches:");
        let mut rows = vec![vec![
            "NAMESPACE".to_string(),
            "KIND".into(),
            "NAME".into(),
            "CONTAINER".into(),
            "TAG".into(),
            "REDEPLOYS".into(),
        ]];
        rows.extend(answer.workloads.iter().map(|w| {
            vec![
                w.namespace.clone(),
                w.kind.to_string(),
                w.name.clone(),
                w.container.clone(),
                w.tag.clone().unwrap_or_else(|| "(none)".into()),
                w.label(),
            ]
        }));
        out.push_str(&columns(&rows));
    }
    let summary = ImageSummary::of(answer);
    let _ = writeln!(
        out,
        "\n{} tag(s), {} container(s): {} yes, {} after the next apply, {} no",
        summary.tags, summary.containers, summary.yes, summary.after_the_next_apply, summary.no
    );
}

/// Rows with every column but the last padded to its widest cell.
fn columns(rows: &[Vec<String>]) -> String {
    let count = rows.first().map_or(0, Vec::len);
    let mut widths = vec![0usize; count.saturating_sub(1)];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        if let Some(last) = row.last() {
            line.push_str(last);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `scan --image --output json`.
#[derive(Debug, Serialize)]
pub struct ImageJsonReport<'a> {
    pub schema: &'static str,
    /// The image asked about, normalised (`docker.io/library/nginx:1.27`).
    pub image: &'a str,
    /// The namespace scanned, `null` for all namespaces.
    pub namespace: Option<&'a str>,
    /// Where the webhook's scope came from.
    pub scope: Option<String>,
    pub tags: &'a [TagAnswer],
    pub workloads: &'a [WorkloadAnswer],
    pub summary: ImageSummary,
    pub notes: &'a [String],
    pub errors: &'a [String],
}

/// Counts of `scan --image`'s answer.
#[derive(Debug, Serialize)]
pub struct ImageSummary {
    pub tags: usize,
    pub containers: usize,
    pub yes: usize,
    pub after_the_next_apply: usize,
    pub no: usize,
}

impl ImageSummary {
    fn of(answer: &Answer) -> Self {
        let count = |which: Redeploys| {
            (answer.workloads.iter())
                .filter(|w| w.redeploys == which)
                .count()
        };
        ImageSummary {
            tags: answer.tags.len(),
            containers: answer.workloads.len(),
            yes: count(Redeploys::Yes),
            after_the_next_apply: count(Redeploys::AfterTheNextApply),
            no: count(Redeploys::No),
        }
    }
}

impl<'a> ImageJsonReport<'a> {
    pub fn new(answer: &'a Answer, scan: &'a Scan, namespace: Option<&'a str>) -> Self {
        ImageJsonReport {
            schema: IMAGE_JSON_SCHEMA,
            image: &answer.image.canonical,
            namespace,
            scope: scan.scope.as_ref().map(|s| s.source.to_string()),
            tags: &answer.tags,
            workloads: &answer.workloads,
            summary: ImageSummary::of(answer),
            notes: &scan.notes,
            errors: &scan.errors,
        }
    }
}
