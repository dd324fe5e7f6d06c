"""The deployment docs and the SageMaker notebook: links resolve, the notebook is valid, what they name exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.deploy.cfn import REPO, load_template

DOCS = ["deploying.md", "console.md", "sagemaker.md", "troubleshooting.md"]
NOTEBOOK = REPO / "examples" / "sagemaker_saas.ipynb"
LINK = re.compile(r"\]\(([^)\s]+)\)")
TEMPLATE = load_template()


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


@pytest.mark.parametrize("name", DOCS)
def test_relative_links_resolve(name: str) -> None:
    doc = REPO / "docs" / name
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        assert resolved.exists(), f"{name}: broken link {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{name}: no heading for #{anchor} in {resolved.name}"


def test_docs_link_the_spec_guide() -> None:
    for name in ("deploying.md", "troubleshooting.md"):
        assert "(spec.md)" in (REPO / "docs" / name).read_text(encoding="utf-8"), name


def test_outputs_named_in_the_docs_exist() -> None:
    outputs = set(TEMPLATE["Outputs"])
    text = " ".join((REPO / "docs" / name).read_text(encoding="utf-8") for name in DOCS)
    text += NOTEBOOK.read_text(encoding="utf-8")
    named = set(re.findall(r"output `(\w+)`", text)) | set(re.findall(r'outputs\.get\("(\w+)"', text))
    assert named, "the docs should point at the stack outputs"
    assert named <= outputs, f"docs name outputs the template does not have: {sorted(named - outputs)}"


def test_notebook_is_valid_and_its_code_compiles() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    code = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    assert code
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, "commit the notebook without outputs"
    for source in code:
        python = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%"))
        compile(python, str(NOTEBOOK), "exec")
    joined = "\n".join(code)
    # reads through the federated catalog must not use awswrangler's CTAS default
    assert joined.count("read_sql_query(") == joined.count("ctas_approach=False")
    assert "data_source=CATALOG" in joined and "wr.s3.read_parquet" in joined
