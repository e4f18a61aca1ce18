"""User text (model, variant, layer, block and file names, notes) in markdown, HTML, mermaid and LaTeX:
escaped so that it shows as written and never starts structure (a fence, a heading, a tag, a
table cell). The escapes leave letters, digits, spaces, '.', ',', '-', '×' and a '_' between two
letters or digits as they are, so ordinary names are written byte for byte as before."""

from __future__ import annotations

import re


class Markdown(str):
    """Text that is markdown already (ours, with any user text in it escaped): `as_markdown`
    writes such a heading or cell as it is, and escapes every other one with `markdown_text`."""


_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_GITHUB_LINKED = re.compile(r"@(?=[^\W_])|#(?=\d)|(?<=(?<![^\W_])[Gg][Hh])-(?=\d)")
"""An '@', '#' or '-' that GitHub would link in rendered text (its documented autolinked
references): an e-mail address or @mention, and `user@sha` or `owner/repo@sha`; a #12 or
`owner/repo#12` reference; the '-' of a GH-12 reference (in either case: GitHub does not say
whether case matters)."""
_MARKDOWN_SPECIAL = re.compile(r"[\\`*\[\]<>&~$|]|(?<![^\W_])_|_(?![^\W_])|(?<=www)\.|:(?=//)|" + _GITHUB_LINKED.pattern)
"""What `markdown_text` escapes: what starts structure, and where GitHub would make a link of
the text: the '.' of `www.` and the ':' of `://` (GitHub-flavoured markdown's autolinks), an '@'
before a letter or digit (an e-mail address, a @mention, `owner/repo@sha`), a '#' before a digit
(a #12 issue reference) and the '-' of a GH-12 one."""
_MARKDOWN_UNSAFE = re.compile(f"{_BREAKS.pattern}|{_MARKDOWN_SPECIAL.pattern}")
_MAYBE_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\`*\[\]<>&~$|_:@#]|www\.|(?i:gh)-\d")
"""Every character that `_MARKDOWN_UNSAFE` matches (a '_', ':', '@' or '#' only in some places,
a '-' only in GH-12): a quick first look."""
_OWN_NODE = "@#-"
"""What `markdown_text` writes in an element of its own, `<span>@</span>`: GitHub finds e-mail
addresses, @mentions, #12 and GH-12 references in the rendered text, where a backslash is gone, one
run of text at a time."""
_MERMAID_PLAIN = re.compile(r"[^\W_]|[ _.,()×-]")


def one_line(text: str) -> str:
    """Line breaks, tabs and other control characters as spaces."""
    return _BREAKS.sub(" ", text)


def markdown_text(text: str) -> str:
    """Text inside a line of markdown, table cells included: a backslash before each character
    that could start structure inline (code, emphasis, a link, an HTML tag, an entity,
    strikethrough, math, a cell break) or make GitHub link the text (`www.`, `://`), and an '@' or
    '#' that would make GitHub link it in a `<span>` (`_OWN_NODE`). A '_' between two letters or
    digits starts nothing and is left alone; any other '#' is escaped only in headings (`heading_text`)."""
    if is_plain(text):  # most names and every number: as they are
        return text
    return _MARKDOWN_SPECIAL.sub(_escaped, one_line(text))


def _escaped(match: re.Match) -> str:
    character = match.group()
    return f"<span>{character}</span>" if character in _OWN_NODE else "\\" + character


def is_plain(text: str) -> bool:
    """Whether `markdown_text` leaves `text` as it is; for texts joined by spaces, whether it
    leaves each of them so (a '_' next to a space is escaped as it is at a text's end)."""
    return not _MAYBE_UNSAFE.search(text) or not _MARKDOWN_UNSAFE.search(text)


_BLOCK_MARKER = re.compile(r"#|[-+]|\d{1,9}[.)]")
"""What starts a heading or a list where a line (or a list item's text) begins."""


def item_text(text: str) -> str:
    """Text that begins a line or a list item (`- NAME: …`): as `markdown_text`, with a '#', '-',
    '+' or '1.' at its start escaped, which would begin a heading or a list there, and its leading
    spaces written `&#32;`, four of which would begin a code block."""
    text = markdown_text(text)
    body = text.lstrip(" ")
    marker = _BLOCK_MARKER.match(body)
    if marker:
        body = f"{body[:marker.end() - 1]}\\{body[marker.end() - 1:]}"
    return "&#32;" * (len(text) - len(body)) + body


def in_bold(markdown: str) -> str:
    """Markdown (user text already escaped) in bold, `**…**`, a space at either end written as its
    reference (`&#32;`, a no-break space `&#160;`): CommonMark reads no `**` beside Unicode
    whitespace as bold (a model named ' net' showed '** net (…)**')."""
    body = markdown.strip()
    if not body:
        return _references(markdown)  # '****' would be a rule
    before, after = markdown[:len(markdown) - len(markdown.lstrip())], markdown[len(markdown.rstrip()):]
    return f"**{_references(before)}{body}{_references(after)}**"


def _references(text: str) -> str:
    """Each character of `text` as a numeric character reference ('&#32;' for a space)."""
    return "".join(f"&#{ord(character)};" for character in text)


def heading_text(text: str) -> str:
    """Text inside an ATX heading (`## Stages: NAME`), where a '#' could close the heading."""
    return markdown_text(text).replace("#", "\\#")


def code_span(text: str, table: bool = True) -> str:
    """`text` as inline code: fenced by more backticks than any run in it (padded with a space
    where it starts or ends with one); in a table cell (`table`) '|' is written '\\|'."""
    text = one_line(text)
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] == "`" or text[-1:] == "`" or (text[:1] == text[-1:] == " " and text.strip()) else ""
    if table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def html_text(text: str) -> str:
    """Text inside an HTML element (`<summary>`): `&`, `<`, `>` and quotes as character references."""
    import html  # only reports write HTML: the table's start-up does without html.entities

    return html.escape(one_line(text))


def summary_text(text: str) -> str:
    """Text inside an HTML element of a markdown page (a `<summary>`): as `html_text`, with each
    '@' or '#' that GitHub would link (`_OWN_NODE`) in a `<span>`, as `markdown_text` writes it."""
    return _GITHUB_LINKED.sub(lambda match: f"<span>{match.group()}</span>", html_text(text))


def mermaid_text(text: str) -> str:
    """Text inside a mermaid diagram (a title, a quoted label): every character but letters,
    digits, spaces and `_.,()×-` as mermaid's entity code `#NN;`, so none ends a label or a line."""
    return "".join(c if _MERMAID_PLAIN.fullmatch(c) else f"#{ord(c)};" for c in one_line(text))


class Latex(str):
    """Text that is LaTeX already (`\\textbf{…}` around escaped text): `as_latex` writes it as it is."""


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
          "≥": r"$\geq$", "≤": r"$\leq$"}
"""The characters LaTeX reads otherwise, and the marks of a bound (≥ of a lower bound), which
pdfLaTeX's default UTF-8 input does not map."""
_LATEX_SPECIAL = re.compile("|".join(map(re.escape, _LATEX)))


def latex_text(text: str) -> str:
    """Text in a LaTeX document: each of `\\ & % $ # _ { } ~ ^ < > ≥ ≤` written so that it prints as itself."""
    return _LATEX_SPECIAL.sub(lambda match: _LATEX[match.group()], one_line(text))
