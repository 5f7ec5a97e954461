"""The Dockerfile and .dockerignore, read with a small parser (no Docker engine needed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    out, buf = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    assert not buf, "dangling line continuation"
    return out


def stages(text: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions(text):
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


STAGES = stages(DOCKERFILE)
BUILDER, RUNTIME = STAGES[0], STAGES[-1]


def first(stage, word):
    return next(args for ins, args in stage if ins == word)


def test_multi_stage_with_a_pinned_bookworm_rust_builder_and_matching_runtime():
    assert len(STAGES) == 2
    args = dict(a.split("=", 1) for ins, a in instructions(DOCKERFILE) if ins == "ARG" and "=" in a)
    builder = first(BUILDER, "FROM").replace("${RUST_VERSION}", args["RUST_VERSION"])
    assert re.fullmatch(r"docker\.io/library/rust:1\.\d+-bookworm AS builder", builder)
    runtime = first(RUNTIME, "FROM")
    # Same Debian release as the builder, so the glibc the binary links against is there.
    assert runtime == "gcr.io/distroless/cc-debian12:nonroot"
    assert "latest" not in builder + runtime


def test_dependencies_build_in_their_own_layer_before_the_source():
    order = [(ins, args) for ins, args in BUILDER if ins in ("COPY", "RUN")]
    assert order[0] == ("COPY", "Cargo.toml Cargo.lock ./")
    assert order[1][0] == "RUN" and "cargo build --release --locked" in order[1][1]
    assert order[2] == ("COPY", "src ./src")
    assert order[3][0] == "RUN" and "cargo build --release --locked" in order[3][1]
    assert "touch" in order[3][1]  # the real sources must look newer than the stub build


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not installed")
def test_dependency_stub_step_loads_the_real_manifest(tmp_path):
    """Runs the Dockerfile's own stub step with `cargo build` replaced by cargo's unit graph of
    the same build: it loads the manifest and every declared target the way a real build does
    (a missing target file fails it, which `cargo metadata` would not notice), compiling
    nothing."""
    step = [args for ins, args in BUILDER if ins == "RUN"][0]
    for name in ("Cargo.toml", "Cargo.lock"):
        shutil.copy(REPO / name, tmp_path / name)
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "cargo").write_text(
        "#!/bin/sh\nRUSTC_BOOTSTRAP=1 exec %s build --release --locked --offline --bin autoredeploy"
        " --unit-graph -Z unstable-options >/dev/null\n"
        % shutil.which("cargo")
    )
    (shim / "cargo").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}"}
    done = subprocess.run(["sh", "-c", step], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_runtime_runs_the_server_as_a_numeric_non_root_user():
    user = first(RUNTIME, "USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    assert json.loads(first(RUNTIME, "ENTRYPOINT")) == ["/usr/local/bin/autoredeploy", "serve"]
    assert set(first(RUNTIME, "EXPOSE").split()) == {"8443", "8080"}
    copies = [a for i, a in RUNTIME if i == "COPY"]
    assert copies == ["--from=builder /src/target/release/autoredeploy /usr/local/bin/autoredeploy"]
    assert not [i for i, _ in RUNTIME if i in ("RUN", "ADD", "VOLUME")]  # nothing to write, no shell


def test_oci_labels():
    labels = " ".join(a for i, a in RUNTIME if i == "LABEL")
    for key in ("title", "description", "version", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_dockerignore_keeps_secrets_and_build_output_out_of_the_context():
    entries = {ln.strip() for ln in (REPO / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}
    for required in ("target/", ".git/", ".venv/", "certs/", "*.key"):
        assert required in entries
    for needed in ("src", "src/", "Cargo.toml", "Cargo.lock"):
        assert needed not in entries
