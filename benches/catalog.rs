//! The ImageStream catalog at cluster scale: 10,000 realistic ImageStreams of 3 tags each.
//! Memory: live heap bytes counted by a global allocator wrapper (`stats_alloc`: atomic
//! counters, no locks), while streams are indexed one at a time and each source object is
//! dropped right after, so the delta is what the index keeps; the RSS delta
//! (`/proc/self/statm`) of the same build is printed too (it includes malloc overhead).
//! Time (criterion): lookups on a published snapshot, and one upsert + publish into a
//! 10,000-stream catalog while a reader still holds the previous snapshot (the copy-on-write
//! cost), with the streams spread over 100 namespaces and, worst case, all in one.

use std::alloc::System;
use std::hint::black_box;
use std::sync::Arc;

use arc_swap::ArcSwap;
use autoredeploy::catalog::snapshot::CatalogShards;
use autoredeploy::catalog::{Catalog, CatalogIndex};
use criterion::Criterion;
use serde_json::{Value, json};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const STREAMS: usize = 10_000;
const TAGS: usize = 3;

/// Stream `i` lives in namespace `i % namespaces`; its tags track `quay.io/org-i/app-i:v<t>`.
fn image_stream(i: usize, namespaces: usize) -> Value {
    let namespace = format!("team-{:03}", i % namespaces);
    let name = format!("app-{i:05}");
    let registry = "image-registry.openshift-image-registry.svc:5000";
    let (mut spec_tags, mut status_tags) = (Vec::new(), Vec::new());
    for t in 0..TAGS {
        let repository = format!("quay.io/org-{i}/app-{i}");
        let digest = format!("sha256:{:064x}", i * TAGS + t);
        spec_tags.push(
            json!({"name": format!("v{t}"), "annotations": null, "generation": 2,
            "from": {"kind": "DockerImage", "name": format!("{repository}:v{t}")},
            "importPolicy": {"scheduled": true, "importMode": "Legacy"},
            "referencePolicy": {"type": "Source"}}),
        );
        status_tags.push(json!({"tag": format!("v{t}"), "items": [{"created": "2025-05-01T10:00:00Z",
            "dockerImageReference": format!("{repository}@{digest}"), "image": digest, "generation": 2}]}));
    }
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "12345"},
        "spec": {"lookupPolicy": {"local": false}, "tags": spec_tags},
        "status": {"dockerImageRepository": format!("{registry}/{namespace}/{name}"), "tags": status_tags}})
}

fn build_shards(namespaces: usize) -> CatalogShards {
    let mut shards = CatalogShards::new();
    for i in 0..STREAMS {
        shards.upsert(&image_stream(i, namespaces), "");
    }
    shards
}

/// `stats_alloc` already counts a realloc's growth in `bytes_allocated` (and its shrink in
/// `bytes_deallocated`); `bytes_reallocated` is the same growth again, so it is not added.
fn live_bytes(region: &Region<'_, System>) -> i64 {
    let change = region.change();
    change.bytes_allocated as i64 - change.bytes_deallocated as i64
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn report_memory() {
    let region = Region::new(GLOBAL);
    let one = image_stream(0, 100);
    println!(
        "memory: one source ImageStream as JSON: {} heap bytes",
        live_bytes(&region)
    );
    drop(one);

    let rss_before = resident_bytes();
    let region = Region::new(GLOBAL);
    let shards = build_shards(100);
    let held = live_bytes(&region);
    let rss = resident_bytes()
        .zip(rss_before)
        .map(|(after, before)| after.saturating_sub(before));
    println!(
        "memory: CatalogShards, {STREAMS} streams x {TAGS} tags over 100 namespaces: {held} heap bytes = {} bytes/stream; RSS delta {:?} bytes = {:?} bytes/stream",
        held / STREAMS as i64,
        rss,
        rss.map(|rss| rss / STREAMS as u64)
    );

    let region = Region::new(GLOBAL);
    let mut flat = CatalogIndex::new();
    for i in 0..STREAMS {
        flat.upsert(&image_stream(i, 100), "");
    }
    println!(
        "memory: one flat CatalogIndex, same streams: {} bytes/stream",
        live_bytes(&region) / STREAMS as i64
    );
    drop(flat);

    let region = Region::new(GLOBAL);
    let single = build_shards(1);
    println!(
        "memory: all {STREAMS} streams in one namespace: {} bytes/stream",
        live_bytes(&region) / STREAMS as i64
    );

    report_write_amplification(shards, single);
}

/// Bytes copied by one upsert + publish while a reader still holds the previous snapshot.
fn report_write_amplification(spread: CatalogShards, single: CatalogShards) {
    for (label, namespaces, mut catalog) in
        [("100 namespaces", 100, spread), ("1 namespace", 1, single)]
    {
        let held = catalog.snapshot();
        let region = Region::new(GLOBAL);
        catalog.upsert(&image_stream(7, namespaces), "");
        let published = catalog.snapshot();
        let change = region.change();
        println!(
            "write amplification, {label}: one upsert + publish with a reader holding the old snapshot allocates {} bytes in {} allocations",
            change.bytes_allocated, change.allocations
        );
        drop((held, published));
    }
}

fn lookups(c: &mut Criterion) {
    let snapshot = build_shards(100).snapshot();
    let mut group = c.benchmark_group("lookup_10k");
    group.bench_function("find_external_hit", |b| {
        b.iter(|| {
            snapshot.find_external(
                black_box("team-042"),
                black_box("quay.io/org-4242/app-4242:v1"),
            )
        })
    });
    group.bench_function("find_external_miss", |b| {
        b.iter(|| {
            snapshot.find_external(
                black_box("team-042"),
                black_box("docker.io/library/nginx:latest"),
            )
        })
    });
    group.bench_function("tag_state_hit", |b| {
        b.iter(|| {
            snapshot.tag_state(
                black_box("team-042"),
                black_box("app-04242"),
                black_box("v1"),
            )
        })
    });
    group.bench_function("has_stream_hit", |b| {
        b.iter(|| snapshot.has_stream(black_box("team-042"), black_box("app-04242")))
    });
    let published = ArcSwap::from_pointee(snapshot);
    group.bench_function("take_snapshot", |b| b.iter(|| published.load_full()));
    group.finish();
}

fn upserts(c: &mut Criterion) {
    let mut group = c.benchmark_group("upsert_into_10k");
    for (label, namespaces) in [("spread_100_namespaces", 100), ("one_namespace", 1)] {
        let mut shards = build_shards(namespaces);
        let object = image_stream(4242, namespaces);
        // Steady state of the watch task: the published snapshot (as held by the ArcSwap and
        // readers) shares every namespace, so each upsert copies the namespace it touches.
        let mut published = Arc::new(shards.snapshot());
        group.bench_function(format!("{label}_upsert_and_publish"), |b| {
            b.iter(|| {
                shards.upsert(black_box(&object), "");
                published = Arc::new(shards.snapshot());
            })
        });
        black_box(&published);
    }
    let mut flat = CatalogIndex::from_objects(
        (0..STREAMS)
            .map(|i| image_stream(i, 100))
            .collect::<Vec<_>>()
            .iter(),
        "",
    );
    let object = image_stream(4242, 100);
    group.bench_function("flat_index_in_place", |b| {
        b.iter(|| flat.upsert(black_box(&object), ""))
    });
    group.finish();
}

fn main() {
    report_memory();
    let mut criterion = Criterion::default().configure_from_args();
    lookups(&mut criterion);
    upserts(&mut criterion);
    criterion.final_summary();
}
