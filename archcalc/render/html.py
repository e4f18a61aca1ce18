"""A report as one self-contained HTML page: its markdown (GitHub-flavoured tables, the
`<details>` of every layer) through markdown-it, its charts as inline SVG, its mermaid blocks
left out (the SVG charts draw the same figures). No script and nothing fetched; the colours
follow the reader's light or dark setting. A chart alone: the page's address with `#chart-N`."""

from __future__ import annotations

from archcalc.render.markup import html_text

STYLE = """
:root { color-scheme: light dark; --text: #1f2328; --page: #ffffff; --line: #d0d7de; --soft: #f6f8fa; }
@media (prefers-color-scheme: dark) {
  :root { --text: #e6edf3; --page: #0d1117; --line: #3d444d; --soft: #161b22; }
}
body { margin: 0; background: var(--page); color: var(--text);
       font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 16px 24px; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 3px 10px; }
tr:nth-child(2n) td { background: var(--soft); }
code { font-size: 90%; background: var(--soft); padding: 1px 4px; border-radius: 4px; }
figure.chart { margin: 12px 0; width: 760px; }
figure.chart svg { display: block; }
svg .title { font-weight: 600; font-size: 14px; }
svg .small { font-size: 11px; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis { stroke: currentColor; stroke-width: 1; }
body:has(figure:target) main > :not(figure:target) { display: none; }
body:has(figure:target) main { margin: 0; padding: 0; }
body:has(figure:target) figure:target { margin: 0; }
"""
"""The page's colours as variables, dark ones under prefers-color-scheme; with `#chart-N` in the
address only that chart shows, at the page's top left corner (how the tests photograph one)."""


def document(title: str, parts: list) -> str:
    """The page of `parts`: markdown lines and charts (anything with an svg() method), in order."""
    from markdown_it import MarkdownIt

    markdown = MarkdownIt("commonmark", {"html": True}).enable("table")
    markdown.add_render_rule("fence", _fence)
    body, text, charts = [], [], 0
    for part in [*parts, None]:
        if isinstance(part, str):
            text.append(part)
            continue
        body.append(markdown.render("\n".join(text)))
        text = []
        if part is not None:
            charts += 1
            kind = type(part).__name__.lower()
            body.append(f'<figure class="chart {kind}" id="chart-{charts}">{part.svg()}</figure>\n')
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html_text(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
            f"{''.join(body)}</main>\n</body>\n</html>\n")


def _fence(renderer, tokens, index, options, env) -> str:
    """A fenced block as markdown-it writes it; a mermaid one not at all."""
    token = tokens[index]
    return "" if token.info.strip() == "mermaid" else renderer.fence(tokens, index, options, env)
