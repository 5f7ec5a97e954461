//! Properties of `mutate`'s text edits over generated manifests (an ImageStream and a
//! workload in varied layouts: indentation, sequence style, quoting, comments, line breaks):
//! the edited text reads back as exactly the objects the engine produced, nothing is
//! re-rendered, and a second run changes nothing.

use autoredeploy::cli::mutate;
use autoredeploy::cli::{Cli, Command};
use autoredeploy::manifests::{self, Format, Source};
use clap::Parser;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Layout {
    indent: usize,
    sequence_indent: usize,
    quote: &'static str,
    comments: bool,
    crlf: bool,
    workload: &'static str,
}

fn layouts() -> impl Strategy<Value = Layout> {
    (
        prop_oneof![Just(2usize), Just(4)],
        prop_oneof![Just(0usize), Just(2)],
        prop_oneof![Just(""), Just("'"), Just("\"")],
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            Just("Deployment"),
            Just("DeploymentConfig"),
            Just("CronJob")
        ],
    )
        .prop_map(
            |(indent, sequence_indent, quote, comments, crlf, workload)| Layout {
                indent,
                sequence_indent,
                quote,
                comments,
                crlf,
                workload,
            },
        )
}

/// Lines of `(depth, text)`, written with the layout's indentation.
fn write(layout: &Layout, lines: &[(usize, String)]) -> String {
    let mut out = String::new();
    for (depth, text) in lines {
        out.push_str(&" ".repeat(depth * layout.indent));
        out.push_str(text);
        if layout.comments && text.ends_with(":") {
            out.push_str(" # section");
        }
        out.push_str(if layout.crlf { "\r\n" } else { "\n" });
    }
    out
}

fn manifest(layout: &Layout) -> String {
    let q = |s: &str| format!("{}{s}{}", layout.quote, layout.quote);
    let item = |depth: usize, first: &str| {
        // A sequence item: the dash at the key's column plus the sequence indentation.
        (
            depth,
            format!("{}- {first}", " ".repeat(layout.sequence_indent)),
        )
    };
    let stream = vec![
        (0, "apiVersion: image.openshift.io/v1".to_owned()),
        (0, "kind: ImageStream".to_owned()),
        (0, "metadata:".to_owned()),
        (1, format!("name: {}", q("app"))),
        (1, "namespace: shop".to_owned()),
        (0, "spec:".to_owned()),
        (1, "tags:".to_owned()),
        item(1, &format!("name: {}", q("latest"))),
    ];
    let mut text = write(layout, &stream);
    let pad = " ".repeat(layout.sequence_indent + 2);
    let from = [
        (1, format!("{pad}from:")),
        (2, format!("{pad}kind: DockerImage")),
        (
            2,
            format!("{pad}name: {}", q("docker.io/example/app:latest")),
        ),
    ];
    text.push_str(&write(layout, &from));
    text.push_str(if layout.crlf { "---\r\n" } else { "---\n" });
    let api = match layout.workload {
        "DeploymentConfig" => "apps.openshift.io/v1",
        "CronJob" => "batch/v1",
        _ => "apps/v1",
    };
    let mut workload = vec![
        (0, format!("apiVersion: {api}")),
        (0, format!("kind: {}", layout.workload)),
        (0, "metadata:".to_owned()),
        (1, "name: web".to_owned()),
        (1, "namespace: shop".to_owned()),
        (0, "spec:".to_owned()),
    ];
    let mut depth = 1;
    if layout.workload == "CronJob" {
        workload.push((1, format!("schedule: {}", q("0 3 * * *"))));
        workload.push((1, "jobTemplate:".to_owned()));
        workload.push((2, "spec:".to_owned()));
        depth = 3;
    }
    workload.push((depth, "template:".to_owned()));
    workload.push((depth + 1, "spec:".to_owned()));
    workload.push((depth + 2, "containers:".to_owned()));
    workload.push(item(depth + 2, "name: web"));
    workload.push((
        depth + 2,
        format!("{pad}image: {}", q("example/app:latest")),
    ));
    text.push_str(&write(layout, &workload));
    text
}

fn run(text: &str) -> (String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.yaml");
    std::fs::write(&path, text).expect("written");
    let cli = Cli::try_parse_from(["autoredeploy", "mutate", "-f", path.to_str().unwrap()])
        .expect("valid arguments");
    let Command::Mutate(args) = cli.command else {
        unreachable!()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = mutate::execute(&args, &mut std::io::empty(), &mut out, &mut err);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn edited_text_reads_back_as_the_mutated_objects(layout in layouts()) {
        let text = manifest(&layout);
        let args = Cli::try_parse_from(["autoredeploy", "mutate", "-f", "-"]).unwrap();
        let Command::Mutate(args) = args.command else { unreachable!() };
        let run_objects = mutate::mutate_inputs(&args, &mut text.as_bytes()).expect("mutates");
        prop_assert!(run_objects.objects.iter().all(|o| !o.row.patch.0.is_empty()), "{text}");

        let (output, notes) = run(&text);
        prop_assert!(!notes.contains("re-rendered"), "{notes}");
        let parsed = manifests::parse(Source::new("out.yaml", output.clone(), Format::Yaml)).unwrap();
        let original = manifests::parse(Source::new("in.yaml", text.clone(), Format::Yaml)).unwrap();
        for ((doc, report), before) in parsed.documents.iter().zip(&run_objects.objects).zip(&original.documents) {
            let mut expected = before.value.clone();
            json_patch::patch(&mut expected, &report.row.patch).unwrap();
            prop_assert_eq!(&doc.value, &expected);
        }
        let (again, _) = run(&output);
        prop_assert_eq!(again, output);
    }
}
