//! What `mutate` prints: the manifests, a unified diff, the `--check` lines or the JSON
//! report, the notes on standard error, and the `--in-place` writes; and the exit code. It
//! must not run the engine or touch YAML syntax: `Run` holds everything it prints.

use std::io::Write;

use serde::Serialize;

use super::{EXIT_CHANGES, EXIT_OK, Kustomized, MutateArgs, ObjectReport, OutputFormat, Run};
use crate::catalog::budget::RegistryTotal;
use crate::cli::in_place;
use crate::manifests::{self, Rewrite, Skipped};

#[derive(Serialize)]
struct Report<'a> {
    objects: &'a [ObjectReport],
    /// Documents re-rendered whole because they could not be edited in place.
    rewritten: Vec<&'a Rewrite>,
    summary: Summary,
    /// Per registry: scheduled tags, projected pulls per window and the budget.
    registries: &'a [RegistryTotal],
    /// Input that is not Kubernetes objects, left as it is.
    skipped: &'a [Skipped],
    /// Changed files a kustomization beside them builds: mutate what you apply.
    kustomized: &'a [Kustomized],
}

#[derive(Serialize)]
struct Summary {
    objects: usize,
    changed_objects: usize,
    changes: usize,
    findings: usize,
}

pub(super) fn print(
    args: &MutateArgs,
    run: &Run,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    match (args.output, args.diff, args.check) {
        (OutputFormat::Json, _, _) => print_report(run, out)?,
        (OutputFormat::Yaml, true, _) => {
            for file in &run.files {
                out.write_all(
                    manifests::unified_diff(&file.name, &file.original, &file.output).as_bytes(),
                )?;
            }
            print_findings(run, err)?;
        }
        (OutputFormat::Yaml, false, true) => print_check(run, out, err)?,
        (OutputFormat::Yaml, false, false) => {
            if !args.in_place {
                let outputs = run.files.iter().map(|f| f.output.as_str());
                out.write_all(manifests::concatenate(outputs).as_bytes())?;
            }
            print_findings(run, err)?;
        }
    }
    if args.in_place {
        // The diff or the change lines own standard output when asked for.
        let files = run.files.iter().map(|f| in_place::Output {
            name: &f.name,
            path: f.path.as_deref(),
            original: &f.original,
            output: &f.output,
        });
        if args.diff || args.check {
            in_place::write_changed(files, err)?;
        } else {
            in_place::write_changed(files, out)?;
        }
    }
    out.flush()?;
    let changed = run.changed_objects() > 0;
    Ok(if args.check && changed {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

fn print_report(run: &Run, out: &mut dyn Write) -> anyhow::Result<()> {
    let report = Report {
        objects: &run.objects,
        rewritten: run.rewrites().collect(),
        summary: Summary {
            objects: run.objects.len(),
            changed_objects: run.changed_objects(),
            changes: run.change_count(),
            findings: run.objects.iter().map(|o| o.row.findings.len()).sum(),
        },
        registries: &run.registries,
        skipped: &run.skipped,
        kustomized: &run.kustomized,
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)?;
    Ok(())
}

/// One line per change on `out`, findings as notes, a summary on `err`.
fn print_check(run: &Run, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<()> {
    for object in &run.objects {
        for change in &object.row.changes {
            writeln!(
                out,
                "{}: {}{}: {}",
                locate(object),
                audit_prefix(object),
                change.code,
                change.message
            )?;
        }
        for finding in &object.row.findings {
            writeln!(
                out,
                "{}: note: {}: {}",
                locate(object),
                finding.code,
                finding.message
            )?;
        }
    }
    for rewrite in run.rewrites() {
        writeln!(out, "{rewrite}")?;
    }
    print_input_notes(run, err)?;
    match run.change_count() {
        0 => writeln!(err, "autoredeploy: nothing would change")?,
        n => writeln!(
            err,
            "autoredeploy: {n} change(s) to {} object(s) would be made",
            run.changed_objects()
        )?,
    }
    Ok(())
}

/// `(audit) ` for an object whose changes are only reported.
fn audit_prefix(object: &ObjectReport) -> &'static str {
    if object.row.audited() { "(audit) " } else { "" }
}

/// Findings on `err`, so the manifests or the diff on `out` stay clean; an audited object's
/// changes too, since they appear nowhere else.
fn print_findings(run: &Run, err: &mut dyn Write) -> anyhow::Result<()> {
    print_input_notes(run, err)?;
    for rewrite in run.rewrites() {
        writeln!(err, "autoredeploy: note: {rewrite}")?;
    }
    for object in run.objects.iter().filter(|o| o.row.audited()) {
        for change in &object.row.changes {
            let (place, code) = (locate(object), change.code);
            writeln!(
                err,
                "autoredeploy: note: {place}: (audit) {code}: {}",
                change.message
            )?;
        }
    }
    for object in &run.objects {
        for finding in &object.row.findings {
            writeln!(
                err,
                "autoredeploy: note: {}: {}: {}",
                locate(object),
                finding.code,
                finding.message
            )?;
        }
    }
    Ok(())
}

/// What was read but left alone, and changed files a kustomization builds.
fn print_input_notes(run: &Run, err: &mut dyn Write) -> anyhow::Result<()> {
    for skipped in &run.skipped {
        writeln!(err, "autoredeploy: note: {skipped}")?;
    }
    for kustomized in &run.kustomized {
        writeln!(err, "autoredeploy: note: {kustomized}")?;
    }
    Ok(())
}

/// `FILE:LINE: Kind namespace/name`, the stable prefix of every `--check` line.
fn locate(object: &ObjectReport) -> String {
    let name = object.row.name.as_deref().unwrap_or("(unnamed)");
    let kind = &object.row.kind;
    match object.row.namespace.as_deref() {
        Some(ns) => format!("{}:{}: {kind} {ns}/{name}", object.file, object.line),
        None => format!("{}:{}: {kind} {name}", object.file, object.line),
    }
}
