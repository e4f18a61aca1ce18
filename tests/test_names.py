"""Names, and the user text that reaches other formats.

Layer and block names follow one pattern, checked when the spec is read (docs/spec.md, "Layer
items"); every name it allows builds in torch, the names of nn.Module's own attributes included.
Model, variant and file names are free text on one line, and every markdown and HTML output
writes them escaped: the rendered text is the name as written, and the document has the same
structure as for a plain name. Expected escapes and messages are written by hand.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import run_process, shown_at
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
"""The rule docs/spec.md states for layer and block names (and 'input' is reserved)."""
HINT = "  hint: use letters, digits and _, starting with a letter; 'input' is reserved\n"
ONE_LINE_HINT = ("  hint: a name holds no line breaks, tabs, other control characters or invisible format characters "
                 "(such as U+202E, which reverses the text after it)\n")

LAYERS = """\
name: names
input: [3, 8, 8]
layers:
  - conv: {{kind: conv2d, out: 4, kernel: 3}}
  - {name}: relu
"""


def quoted(name: str) -> str:
    """A YAML double-quoted scalar of `name` (JSON's escapes are YAML's)."""
    return json.dumps(name)


# --- the name pattern, checked when the spec is read ------------------------------------------

REFUSED_LAYER_NAMES = {
    "conv\n": r"'conv\n'",            # a trailing line break split a table row
    "input\n": r"'input\n'",          # and got round the reserved name
    "conv\r": r"'conv\r'",
    "_x": "'_x'",                     # the docs say names start with a letter
    "_steps": "'_steps'",             # an attribute of the built module: a traceback in validate
    "__init__": "'__init__'",
    "input": "'input'",
    "1x": "'1x'",
    "conv-1": "'conv-1'",
    "a.b": "'a.b'",                   # dots join the names of blocks and their layers
    " conv": "' conv'",
    "conv ": "'conv '",
    "": "''",
    "convé": "'convé'",               # letters are ASCII letters
    "conv\u200b": r"'conv\u200b'",    # an invisible character is shown in the message
    "it's": '"it\'s"',
}


@pytest.mark.parametrize("name", REFUSED_LAYER_NAMES, ids=[repr(n) for n in REFUSED_LAYER_NAMES])
def test_a_layer_name_outside_the_pattern_is_refused_at_its_place(name, cli, write_spec):
    path = write_spec(LAYERS.format(name=quoted(name)))
    for command in (["table", path], ["validate", path, "--runs", "0"]):
        result = cli(*command)
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert result.stderr == f"error: {path}:5:5: {REFUSED_LAYER_NAMES[name]} cannot name a layer\n{shown_at(path, 5, 5)}{HINT}"


def test_an_internal_attribute_name_gives_one_line_in_a_fresh_process_not_a_traceback(write_spec):
    path = write_spec(LAYERS.format(name="_steps"))
    result = run_process("validate", str(path), "--runs", "0")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {path}:5:5: '_steps' cannot name a layer\n{shown_at(path, 5, 5)}{HINT}"


BLOCKS = """\
name: names
input: [3, 8, 8]
blocks:
  {name}:
    layers:
      - conv: {{kind: conv2d, out: 4, kernel: 3}}
layers:
  - stem: {{kind: {name}}}
"""


@pytest.mark.parametrize("name, shown", [("_unit", "'_unit'"), ("unit-2", "'unit-2'"), ("input", "'input'"),
                                         ("my *block*", "'my *block*'"), ("unit\n", r"'unit\n'")])
def test_a_block_name_outside_the_pattern_is_refused_at_its_key(name, shown, cli, write_spec):
    path = write_spec(BLOCKS.format(name=quoted(name)))
    result = cli("table", path)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"error: {path}:4:3: {shown} cannot name a block\n{shown_at(path, 4, 3)}{HINT}"


@pytest.mark.parametrize("model, variant, where, message", [
    ("a\nb", "v", "1:7", r"the model name 'a\nb' is not one line of text"),
    ("a\tb", "v", "1:7", r"the model name 'a\tb' is not one line of text"),
    ("a\u2028b", "v", "1:7", r"the model name 'a\u2028b' is not one line of text"),
    ("net", "x\ry", "5:3", r"the variant name 'x\ry' is not one line of text"),
    ("net", "x\x1b[31m", "5:3", r"the variant name 'x\x1b[31m' is not one line of text"),
    # invisible format characters: a name shown otherwise than it reads (found by a fuzzer)
    ("resnet50\u202e\u2066evil", "v", "1:7", r"the model name 'resnet50\u202e\u2066evil' is not one line of text"),
    ("net", "v\u200bw", "5:3", r"the variant name 'v\u200bw' is not one line of text"),
])
def test_a_model_or_variant_name_on_more_than_one_line_is_refused(model, variant, where, message, cli, write_spec):
    path = write_spec(f"name: {quoted(model)}\ninput: [3, 8, 8]\nvariants:\n  plain: {{}}\n  {quoted(variant)}: {{}}\n"
                      "layers:\n  - conv: {kind: conv2d, out: 4, kernel: 3}\n")
    result = cli("table", path)
    assert result.exit_code == 2 and result.stdout == ""
    line, column = map(int, where.split(":"))
    assert result.stderr == f"error: {path}:{where}: {message}\n{shown_at(path, line, column)}{ONE_LINE_HINT}"


@pytest.mark.parametrize("name", ["a", "Z9", "x_", "a__b", "conv_1_", "inputs", "Input", "INPUT", "eval", "training"])
def test_names_the_pattern_allows_are_accepted(name, cli, write_spec):
    assert PATTERN.fullmatch(name) and name != "input"
    result = cli("table", write_spec(LAYERS.format(name=name)))
    assert result.exit_code == 0, result.output
    assert re.search(rf"^2 +{re.escape(name)} +relu ", result.stdout, re.MULTILINE)


# --- every name the pattern allows builds in torch --------------------------------------------

def module_attribute_names() -> list[str]:
    """Every attribute name of an nn.Module (methods, `training`, `T_destination`, …) that the
    name pattern allows."""
    torch = pytest.importorskip("torch")
    return sorted(name for name in dir(torch.nn.Module()) if PATTERN.fullmatch(name))


def test_every_nn_module_attribute_name_builds_and_validates(cli, write_spec):
    """Each name twice: a top-level group and the convolution inside it, beside a relu named
    `training` (`forward` inside the group named `training`)."""
    pytest.importorskip("fvcore")
    names = module_attribute_names()
    assert {"eval", "to", "train", "training", "forward", "state_dict", "children", "T_destination"} <= set(names)
    lines = ["name: attributes", "input: [2, 4, 4]", "layers:"]
    for name in names:
        other = "forward" if name == "training" else "training"
        lines.append(f"  - {name}: {{layers: [{{{name}: {{kind: conv2d, out: 2, kernel: 1}}}}, {{{other}: relu}}]}}")
    path = write_spec("\n".join(lines) + "\n")
    result = cli("validate", path, "--device", "cpu", "--runs", "1", "--warmup", "0")
    assert result.exit_code == 0, result.output
    assert f"✓ attributes: all {2 * len(names)} layers and the totals agree" in result.stdout


CLASHING = """\
name: clash
input: [2, 4, 4]
layers:
  - eval: {kind: conv2d, out: 3, kernel: 1}
  - training:
      layers:
        - to: {kind: conv2d, out: 2, kernel: 1}
        - forward: relu
"""


def test_a_model_with_nn_module_attribute_names_is_an_ordinary_module(write_spec):
    torch = pytest.importorskip("torch")
    from archcalc import build_torch

    path = write_spec(CLASHING)
    model = build_torch(path)
    assert list(model.state_dict()) == ["eval.weight", "eval.bias", "training.to.weight", "training.to.bias"]
    assert [name for name, _ in model.named_modules()][1:] == ["eval", "training", "training.to", "training.forward"]
    conv, inner = model.get_submodule("eval"), model.get_submodule("training.to")
    assert isinstance(conv, torch.nn.Conv2d) and isinstance(inner, torch.nn.Conv2d)
    assert isinstance(model.get_submodule("training.forward"), torch.nn.ReLU)
    assert model.eval.__func__ is torch.nn.Module.eval  # the attribute stays nn.Module's
    assert model.eval() is model and model.training is False and not conv.training and not inner.training
    model.train()
    assert model.training is True and conv.training and model.get_submodule("training").training is True
    x = torch.randn(1, 2, 4, 4)
    assert torch.equal(model(x), torch.relu(inner(conv(x))))
    model.to(torch.float64)
    assert conv.weight.dtype == inner.weight.dtype == torch.float64
    copy = build_torch(path).to(torch.float64)
    copy.load_state_dict(model.state_dict())
    assert torch.equal(copy(x.double()), model(x.double()))
    with pytest.raises(AttributeError, match="has no submodule `parameters`"):
        model.get_submodule("parameters")


# --- user text in markdown and HTML ------------------------------------------------------------

NAME = r"evil ``` </details> # heading <script>alert(1)</script> | *b* _c_ [l](u) &amp; $x$ ~~s~~ \ end #"
ESCAPED = (r"evil \`\`\` \</details\> # heading \<script\>alert(1)\</script\> \| \*b\* \_c\_ \[l\](u) \&amp; "
           r"\$x\$ \~\~s\~\~ \\ end #")
IN_HEADING = ESCAPED.replace("#", r"\#")
FILE = "net `v1` |x| *y*.yaml"
FILE_ESCAPED = r"net \`v1\` \|x\| \*y\*.yaml"
FILE_CODE = r"``net `v1` \|x\| *y*.yaml``"

MODEL = """\
name: {name}
input: [3, 8, 8]
blocks:
  unit:
    layers:
      - conv: {{kind: conv2d, out: 4, kernel: 3, padding: 1}}
layers:
  - stem: unit
  - head: {{kind: conv2d, out: 4, kernel: 3}}
"""


def yaml_text(text: str) -> str:
    """A YAML single-quoted scalar: backslashes as they are, quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


@pytest.fixture
def specs(tmp_path, monkeypatch):
    """In tmp_path: FILE, the model named NAME, and plain.yaml and other.yaml, the same model
    named plainly; relative paths, so that the file name shown is FILE."""
    monkeypatch.chdir(tmp_path)
    Path(FILE).write_text(MODEL.format(name=yaml_text(NAME)), encoding="utf-8")
    Path("plain.yaml").write_text(MODEL.format(name="plain"), encoding="utf-8")
    Path("other.yaml").write_text(MODEL.format(name="other"), encoding="utf-8")
    return tmp_path


PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def structure(text: str) -> Counter:
    """How many tokens of each type (block and inline) markdown-it finds: headings, tables,
    cells, code, emphasis, links, HTML…"""
    counts: Counter = Counter()
    for token in PARSER.parse(text):
        counts[token.type] += 1
        for child in token.children or []:
            counts[child.type] += 1
    return counts


def inline_texts(text: str) -> list[str]:
    """The text each inline run renders as (its text and code), in order."""
    return ["".join(child.content for child in token.children if child.type in ("text", "code_inline"))
            for token in PARSER.parse(text) if token.type == "inline"]


def test_report_escapes_the_names_in_markdown_html_and_mermaid(specs, cli):
    evil = cli("report", FILE, "plain.yaml")
    plain = cli("report", "other.yaml", "plain.yaml")
    assert evil.exit_code == plain.exit_code == 0, evil.output
    text = evil.stdout
    lines = text.splitlines()
    assert lines[0] == f"# archcalc report: {IN_HEADING}, plain"
    assert f"| models | {ESCAPED} ({FILE_CODE}), plain (`plain.yaml`) |" in lines
    assert f"| figure | {ESCAPED} | plain | plain / {ESCAPED} |" in lines
    assert f"## Stages: {IN_HEADING}" in lines
    assert f"<summary>All 2 layers of {html.escape(NAME)}</summary>" in lines
    assert text.count("</details>") == 2  # ours, one per model
    titles = [line for line in lines if line.startswith("    title ") and line.endswith(': MACs by stage (K)"')]
    title = titles[0].removeprefix('    title "').removesuffix(': MACs by stage (K)"')  # 6,912 MACs
    assert re.fullmatch(r"[A-Za-z0-9 _.,()-]*(#\d+;[A-Za-z0-9 _.,()-]*)*", title)  # no character mermaid reads
    assert re.sub(r"#(\d+);", lambda m: chr(int(m[1])), title) == NAME
    assert structure(text) == structure(plain.stdout)
    texts = inline_texts(text)
    assert texts[0] == f"archcalc report: {NAME}, plain"
    assert f"{NAME} ({FILE}), plain (plain.yaml)" in texts
    assert f"Stages: {NAME}" in texts


@pytest.mark.parametrize("name", ["# heading", "- item", "+ item", "1. item", "2) item", "    code"])
def test_a_name_that_begins_a_list_item_starts_nothing_there(name, specs, cli):
    """`report --sweep` lists each model's formula as `- NAME: MACs = …`: a model named '# heading'
    made a heading inside the item, '- item' or '1. item' a list in it, four spaces a code block."""
    Path("marked.yaml").write_text(MODEL.format(name=yaml_text(name)), encoding="utf-8")
    marked, plain = cli("report", "marked.yaml", "--sweep", "8,16"), cli("report", "plain.yaml", "--sweep", "8,16")
    assert marked.exit_code == plain.exit_code == 0, marked.output
    assert structure(marked.stdout) == structure(plain.stdout)
    assert any(text.startswith(f"{name}: MACs = ") for text in inline_texts(marked.stdout))


def test_table_markdown_escapes_the_model_and_file(specs, cli):
    evil, plain = cli("table", FILE, "--format", "markdown"), cli("table", "plain.yaml", "--format", "markdown")
    assert evil.exit_code == 0, evil.output
    assert evil.stdout.splitlines()[0] == f"**{ESCAPED} ({FILE_ESCAPED})**"
    assert structure(evil.stdout) == structure(plain.stdout)
    assert inline_texts(evil.stdout)[0] == f"{NAME} ({FILE})"


class Elements(__import__("html.parser").parser.HTMLParser):
    """The HTML elements of a page, opened, in order, and the text of each <title> (the page's and
    the charts')."""

    def __init__(self, page: str):
        super().__init__()
        self.tags, self.titles, self.inside = [], [], False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.inside = tag == "title"

    def handle_endtag(self, tag):
        self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.titles.append(data)


def test_report_html_escapes_the_names_in_the_page_and_its_charts(specs, cli):
    evil, plain = cli("report", FILE, "plain.yaml", "--format", "html"), cli("report", "other.yaml", "plain.yaml",
                                                                              "--format", "html")
    assert evil.exit_code == 0, evil.output
    page, other = Elements(evil.stdout), Elements(plain.stdout)
    # the same elements but the <title> tooltips of chart texts that NAME's length shortens to fit
    assert [tag for tag in page.tags if tag != "title"] == [tag for tag in other.tags if tag != "title"]
    assert "script" not in page.tags
    assert page.titles[0] == f"archcalc report: {NAME}, plain"
    assert f"{NAME}: MACs and parameters by stage" in page.titles
    side_by_side = [title for title in page.titles if title.startswith(f"{NAME}: ") and "s" not in title[len(NAME):]]
    assert len(side_by_side) == 3  # "NAME: 260", not a chart title (a word with an s) — its bars' parameters, MACs and peak, named by the model


def test_table_latex_escapes_what_latex_reads(specs, cli):
    """Every special character of LaTeX in a name prints as itself; the model and file are in
    comments, one line each."""
    from archcalc.render.markup import latex_text

    assert latex_text("a_b 50% & #1 {x} $y$ ~^ <> \\ end") == (
        r"a\_b 50\% \& \#1 \{x\} \$y\$ \textasciitilde{}\textasciicircum{} \textless{}\textgreater{} "
        r"\textbackslash{} end")
    lines = cli("table", FILE, "--format", "latex").stdout.splitlines()
    assert lines[1] == f"% {NAME} ({FILE})"
    assert all(line.startswith("%") or "`" not in line for line in lines)


def test_validate_markdown_escapes_the_model_and_file(specs, cli):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    evil = cli("validate", FILE, "--format", "markdown", "--device", "cpu", "--runs", "0")
    plain = cli("validate", "plain.yaml", "--format", "markdown", "--device", "cpu", "--runs", "0")
    assert evil.exit_code == 0, evil.output
    lines = evil.stdout.splitlines()
    assert lines[0].startswith(f"**{ESCAPED} ({FILE_ESCAPED}) · validated on cpu · torch ")
    assert (f"✓ {ESCAPED}: all 2 layers and the totals agree — output shape, parameters, buffers, "
            f"fvcore MACs, FlopCounterMode FLOPs, the inference peak, the training peak") in lines
    assert structure(evil.stdout) == structure(plain.stdout)
    assert inline_texts(evil.stdout)[0].startswith(f"{NAME} ({FILE}) · validated on cpu")



def test_validate_markdown_keeps_its_table_below_a_note_and_escapes_the_note(specs, cli):
    """A note ('> note: …') written straight above the layer table made every row a lazy continuation
    of the quote: no table on GitHub or markdown-it. Its text, which names the spec's file, was not
    escaped (an attacking review, 5 December)."""
    pytest.importorskip("torch")
    Path(FILE).write_text("name: nop\ninput: [3, 8, 8]\nlayers:\n  - act: relu\n  - pool: {kind: maxpool2d, kernel: 2}\n")
    Path("plain.yaml").write_text(Path(FILE).read_text())
    evil = cli("validate", FILE, "--format", "markdown", "--device", "meta", "--runs", "0")
    plain = cli("validate", "plain.yaml", "--format", "markdown", "--device", "meta", "--runs", "0")
    notes = [line for line in evil.stdout.splitlines() if line.startswith("> note: ")]
    assert evil.exit_code == 0 and len(notes) == 2, evil.output  # fvcore on meta; a model of no parameters
    assert f"{FILE_ESCAPED}:1:1" in evil.stdout
    counts = structure(evil.stdout)
    assert counts["table_open"] == 1 and counts["blockquote_open"] == 2 and counts == structure(plain.stdout)

FAMILY = """\
name: family
input: [3, 8, 8]
params: {{width: 8}}
variants:
  {name}: {{}}
  plain: {{width: 4}}
layers:
  - conv: {{kind: conv2d, out: width, kernel: 3}}
"""


def test_check_step_summary_escapes_the_model_name(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("family.yaml").write_text(FAMILY.format(name=yaml_text(NAME)), encoding="utf-8")
    assert cli("check", "family.yaml", "--update").exit_code == 0
    Path("family.yaml").write_text(FAMILY.format(name=yaml_text(NAME)).replace("width: 8", "width: 9"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    result = cli("check", "family.yaml", "--format", "github")
    assert result.exit_code == 1, result.output
    assert all(line.startswith(("::error ", "::notice ")) for line in result.stdout.splitlines())
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    rows = summary.splitlines()[4:8]  # the model's rows, its name on the first (grouped by model)
    assert rows[0].startswith(f"| {ESCAPED} | ") and all(row.startswith("|  | ") for row in rows[1:])
    assert [row.split(" | ")[1] for row in rows] == ["parameters", "MACs", "FLOPs", "activation memory"]
    counts = structure(summary)
    assert counts["heading_open"] == 1 and counts["table_open"] == 1 and counts["tr_open"] == 1 + 4
    assert not {"code_inline", "html_inline", "html_block", "link_open", "em_open", "s_open"} & set(counts)
    assert inline_texts(summary).count(NAME) == 1


LINKED = "www.evil.com @user #12 a@b.com https://x.y/z"
"""A model's name GitHub would make five links of: a site, a @mention, issue #12, an e-mail address, a URL."""
GITHUB_LINK = re.compile(r"www\.|(?<!\\)://|(?<!<span>)(?<!<span>\\)[@#](?=\w)")
"""What GitHub links, in markdown outside code: www. and :// (its autolinks, unless a backslash stops
them) and an '@' or '#' before a word (found in the rendered text, unless alone in an element)."""


def test_names_github_would_link_are_written_so_that_it_does_not(cli, write_spec):
    """An attacking review found `www.evil.com`, `@user` and `#12` written as they are in every
    markdown output: on GitHub a link, a mention that notifies the user, a reference in issue 12's
    timeline. Every text outside code (the model's name, a layer named www.example.com by its
    blocks, a variant) is written so that GitHub makes no link of it, and reads back as written."""
    path = write_spec(f"""
        name: {yaml_text(LINKED)}
        input: [3, 8, 8]
        layers:
          - www:
              layers:
                - example:
                    layers:
                      - com: {{kind: conv2d, out: 4, kernel: 3, padding: 1}}
          - head: {{kind: conv2d, out: 4, kernel: 3}}
    """)
    other = write_spec(f"name: {yaml_text('@octocat')}\ninput: [3, 8, 8]\nvariants:\n  '#7 v': {{}}\n"
                       "layers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n", "other.yaml")
    for args in (["table", path, "--format", "markdown"], ["report", path, other, "--sweep", "8,16"]):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        outside_code = re.sub(r"```mermaid\n.*?```|`[^`]*`|<summary>.*?</summary>", "", result.stdout, flags=re.DOTALL)
        assert not GITHUB_LINK.search(outside_code), GITHUB_LINK.search(outside_code)
        assert LINKED in inline_texts(result.stdout)[0] and "www.example.com" in "".join(inline_texts(result.stdout))
    assert "<summary>All 2 layers of www.evil.com <span>@</span>user <span>#</span>12 a<span>@</span>b.com " \
           "https://x.y/z</summary>" in result.stdout  # in an HTML block GitHub makes no autolinks


def test_layer_names_in_the_lines_below_a_markdown_table_are_escaped_too(cli, write_spec):
    """The lines below the table named layers as they are: a head 'www.example.com' (a layer `com`
    in blocks `www` and `example`) in 'outputs: …', and a constraint's layer in 'valid for H ≥ 3
    (layer 'www.example.com')' of a symbolic table and of the report's cost against resolution."""
    path = write_spec("""
        name: heads
        input: [3, 16, 16]
        outputs: [www.example.com, aux]
        layers:
          - www:
              layers:
                - example:
                    layers:
                      - com: {kind: conv2d, out: 4, kernel: 3}
          - aux: {kind: conv2d, from: input, out: 2, kernel: 1}
    """)
    for args in (["table", path, "--format", "markdown"], ["table", path, "--input", "3xHxW", "--format", "markdown"],
                 ["report", path, "--sweep", "8,16"]):
        text = cli(*args).stdout
        outside_code = re.sub(r"```mermaid\n.*?```|`[^`]*`|<summary>.*?</summary>", "", text, flags=re.DOTALL)
        assert not GITHUB_LINK.search(outside_code), (args, GITHUB_LINK.search(outside_code))
        assert "www.example.com 1×4×14×14" in "".join(inline_texts(text)) or "(layer 'www.example.com')" in \
            "".join(inline_texts(text))


def test_a_name_that_starts_with_a_space_is_bold_in_markdown(cli, write_spec):
    """A model named ' net' (free text, quoted in YAML): `table --format markdown` wrote
    '** net (model.yaml)**', which no markdown reads as bold (CommonMark: a ** followed by a space
    opens nothing), the asterisks shown. The space is written &#32; and the line is bold."""
    path = write_spec("name: ' net'\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n")
    text = cli("table", path, "--format", "markdown").stdout
    children = [child for child in PARSER.parse(text)[1].children if child.content or child.type != "text"]
    assert [child.type for child in children] == ["strong_open", "text", "strong_close"]
    assert children[1].content == f" net ({path})"

@pytest.mark.parametrize("name", ["\u00a0net", "\u2003\u3000net"])
def test_a_name_that_starts_with_another_space_is_bold_in_markdown(cli, write_spec, name):
    """A no-break space (U+00A0), an em space (U+2003) or an ideographic space (U+3000) before the
    name is Unicode whitespace to CommonMark as a space is: '**\u00a0net (…)**' showed its
    asterisks, as ' net' did before it was written '&#32;net'."""
    path = write_spec(f"name: \"{name}\"\ninput: [3, 8, 8]\nlayers:\n  - c: {{kind: conv2d, out: 4, kernel: 3}}\n")
    text = cli("table", path, "--format", "markdown").stdout
    children = [child for child in PARSER.parse(text)[1].children if child.content or child.type != "text"]
    assert [child.type for child in children] == ["strong_open", "text", "strong_close"]
    assert children[1].content == f"{name} ({path})"


def test_zoo_and_list_markdown_escape_names_notes_and_sources(specs):
    from archcalc.analysis import analyze
    from archcalc.render.registry import render

    Path(FILE).write_text(MODEL.format(name=yaml_text(NAME)) + f"published: {{params: 1, source: {yaml_text(NAME)}, "
                          f"note: {yaml_text(NAME)}}}\n", encoding="utf-8")
    stats = analyze(FILE)
    zoo = render("zoo", "markdown", models=[stats]).splitlines()
    row = next(line for line in zoo if line.startswith("| evil"))
    assert row.startswith(f"| {ESCAPED} | 3×8×8 | 260 | 1 (1) |") and row.endswith(f"| {FILE_CODE} |")
    assert f"Published figures: {ESCAPED} (its weights' `num_params` and `_ops`)." in zoo
    assert f"1. {ESCAPED}: {ESCAPED}" in zoo
    models = render("models", "markdown", models=[stats]).splitlines()
    assert models[2].startswith(f"| {ESCAPED} | {FILE_ESCAPED} | 3×8×8 | 260 |")


# --- the escapes themselves --------------------------------------------------------------------

def test_ordinary_names_are_written_as_they_are():
    from archcalc.render.markup import code_span, heading_text, markdown_text, mermaid_text
    from archcalc.spec import bundled

    names = [entry.name for entry in bundled()]
    assert "resnet50_v1" in names and "shufflenet_v2_x1_0" in names
    for name in [*names, "layer1.0.conv1", "3×224×224", "bottleneck ×3", "layer2 (12 layers)", "a_b_c9"]:
        assert markdown_text(name) == heading_text(name) == mermaid_text(name) == name
    assert code_span("specs/mobilenet_v3.yaml") == "`specs/mobilenet_v3.yaml`"


@pytest.mark.parametrize("text, escaped", [
    ("_x", r"\_x"), ("x_", r"x\_"), ("a__b", r"a\_\_b"), ("x_.y", r"x\_.y"), ("a_b", "a_b"), ("é_ü", "é_ü"),
    ("a\nb\r\nc\td", "a b  c d"), ("<b>&lt;</b>", r"\<b\>\&lt;\</b\>"), ("[x](y)", r"\[x\](y)"),
    ("a\\b", r"a\\b"), ("~~x~~ $y$", r"\~\~x\~\~ \$y\$"), ("a|b", r"a\|b"), ("# x #", "# x #"),
    # what GitHub would link: www. and :// (GFM's autolinks, stopped by a backslash, as cmark-gfm reads
    # them); an e-mail address, a @mention and a #12 reference, found in the rendered text, where a
    # backslash is gone: the '@' or '#' alone in an element
    ("www.x.com", r"www\.x.com"), ("see https://x.y/z", r"see https\://x.y/z"), ("a@b.com", "a<span>@</span>b.com"),
    ("@user", "<span>@</span>user"), ("#12", "<span>#</span>12"), ("C# x@ 10:30 @_", r"C# x@ 10:30 @\_"),
    # GitHub's documented references in a conversation: GH-12 (and owner/repo@sha, as user@sha);
    # not a 'GH' inside a word, nor GH- before a letter
    ("GH-12", "GH<span>-</span>12"), ("gh-3", "gh<span>-</span>3"), ("jlord/sheetsee.js@a5c3785", "jlord/sheetsee.js<span>@</span>a5c3785"),
    ("xGH-12 GH-x", "xGH-12 GH-x"),
])
def test_markdown_text_escapes_what_starts_structure(text, escaped):
    from archcalc.render.markup import markdown_text

    assert markdown_text(text) == escaped


def test_code_span_html_and_mermaid_escapes():
    from archcalc.render.markup import code_span, heading_text, html_text, mermaid_text

    assert heading_text("a # b #") == r"a \# b \#"
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x`") == "`` `x` ``"
    assert code_span("a``b`") == "``` a``b` ```"
    assert code_span(" a ") == "`  a  `"
    assert code_span("a|b") == r"`a\|b`" and code_span("a|b", table=False) == "`a|b`"
    assert html_text("<a href='x'>&\n") == "&lt;a href=&#x27;x&#x27;&gt;&amp; "
    assert mermaid_text('a "b"; c#1 `x`\n') == "a #34;b#34;#59; c#35;1 #96;x#96; "


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30))
def test_any_text_renders_as_itself_in_a_paragraph_and_a_table_cell(text):
    """markdown-it reads the escaped text back as the text itself: no code, emphasis, link,
    HTML, strikethrough or cell break, whatever the text holds."""
    from archcalc.render.markup import markdown_text

    escaped = markdown_text(text)
    paragraph = [t for t in PARSER.parse(f"x {escaped} x") if t.type == "inline"]
    assert len(paragraph) == 1
    assert shown(paragraph[0].children) == f"x {text} x"
    table = PARSER.parse(f"| a |\n|---|\n| x {escaped} x |\n")
    cells = [t for t in table if t.type == "inline"]
    assert len(cells) == 2 and shown(cells[1].children) == f"x {text} x"


def shown(children: list) -> str:
    """The text of an inline run that is text alone, but for an '@', '#' or GH-12's '-' that markdown_text puts
    in a <span> of its own (markup._OWN_NODE): no other element, and nothing else in one."""
    texts = [child.content if child.type == "text" else "" for child in children]
    for index, child in enumerate(children):
        if child.type != "text":
            assert child.type == "html_inline" and child.content in ("<span>", "</span>"), child
            assert child.content == "</span>" or (children[index + 2].content == "</span>" and
                                                  children[index + 1].content in ("@", "#", "-")), children
    return "".join(texts)


def test_a_layer_named_by_digits_alone_is_read_as_nn_sequential_names_its_children(cli, write_spec):
    """`- "0": …` (digits, quoted to be text), as nn.Sequential names its children; blocks keep the pattern."""
    spec = LAYERS.replace("  - conv:", '  - "0":').format(name='"1"') + '  - "2": {kind: add, from: ["1", "0"]}\n'
    result = cli("table", write_spec(spec))
    assert result.exit_code == 0, result.output
    assert re.search(r"^3 +2 +add +1×4×6×6 ", result.stdout, re.MULTILINE)
