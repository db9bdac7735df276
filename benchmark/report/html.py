"""report.html: one self-contained page (inline CSS, figures as data: URIs, no script, no network)."""

from __future__ import annotations

import base64
import html

import pandas as pd

from benchmark.report.claims import CRITERIA_NOTE, FAIL, PASS, Claim, criteria_display
from benchmark.report.compare import DROP, RISE
from benchmark.report.content import COMPARISON_NOTE, STATISTICS_NOTE, Comparison, ReportContent
from benchmark.report.facts import Facts
from benchmark.report.figures import ReportFigure
from benchmark.report.tables import MAX_COLUMNS, PaperTable, to_html

esc = html.escape

_CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 2rem auto; max-width: 1250px;
       padding: 0 1rem; line-height: 1.4; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2.4rem; }
h3 { font-size: 1rem; margin: 1.6rem 0 0.3rem; }
.meta { color: #555; margin-top: 0; }
nav a { margin-right: 1rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
p.caption { font-size: 0.85rem; color: #444; margin: 0 0 0.4rem; max-width: 1100px; }
.scroll { overflow-x: auto; }
table.paper { border-top: 2px solid #222; border-bottom: 2px solid #222; font-variant-numeric: tabular-nums; }
table.paper thead tr:last-child th { border-bottom: 1px solid #222; }
table.paper th.map { border-bottom: 1px solid #888; }
table.paper thead th { font-weight: 600; }
table.paper th, table.paper td { padding: 0.2rem 0.5rem; text-align: center; white-space: nowrap; }
table.paper tbody th, table.paper thead th:first-child { text-align: left; font-weight: normal; }
table.paper .ci { color: #666; font-size: 0.85em; }
table.paper td.best .ci { color: inherit; }
table.facts th { text-align: left; font-weight: normal; color: #555; padding: 0.1rem 1rem 0.1rem 0; vertical-align: top;
                 white-space: nowrap; }
table.facts td { padding: 0.1rem 0; font-family: "DejaVu Sans Mono", monospace; font-size: 0.8rem; word-break: break-word; }
table.data th, table.data td { border-bottom: 1px solid #ddd; padding: 0.15rem 0.5rem; text-align: left; }
.warn { background: #fff4e0; border-left: 4px solid #e69f00; padding: 0.5rem 1rem; }
.drop, .fail, .does-not-hold { color: #b2182b; font-weight: bold; }
.rise, .pass, .holds { color: #2166ac; font-weight: bold; }
.claim { margin-bottom: 1.4rem; }
figure { margin: 1.5rem 0 2.5rem; break-inside: avoid; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.85rem; color: #444; margin-top: 0.4rem; max-width: 1100px; }
.columns { display: flex; flex-wrap: wrap; gap: 0 4rem; align-items: flex-start; }
.settings { columns: 2 420px; column-gap: 4rem; }
.settings table { break-inside: auto; }
"""
CSS_PX_PER_INCH = 96  # figures are shown at their printed size: a 7-inch figure takes 7 CSS inches


def render_html(content: ReportContent, images: dict[str, bytes]) -> str:
    """`images` maps each figure's name to its PNG bytes."""
    sections = [("overview", "Overview", _overview(content.facts))]
    sections.append(("tables", "Win-rate tables", "".join(_table(n, t) for n, t in enumerate(content.tables, 1))))
    if content.comparison is not None:
        sections.append(("comparison", "Comparison with the baseline", _comparison_section(content.comparison)))
    sections.append(("criteria", "Criteria", _criteria_section(content.criteria)))
    sections.append(("claims", "The study's claims", "".join(map(_claim, content.claims))))
    figures = "".join(_figure(n, f, images[f.name]) for n, f in enumerate(content.figures, 1))
    sections.append(("figures", "Figures", figures))
    sections.append(("statistics", "How the numbers are computed", f"<p>{esc(STATISTICS_NOTE.format(reps=content.reps))}</p>"))
    sections.append(("configuration", "Configuration", _configuration(content.facts)))
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{esc(title)}</h2>{inner}</section>' for key, title, inner in sections)
    runs = len(content.facts.runs)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{esc(content.title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{esc(content.title)}</h1><p class=\"meta\">Generated {esc(content.generated)} by robust-qmix report "
        f"from {runs} run{'s' if runs != 1 else ''}.</p></header><nav>{nav}</nav>{body}</body></html>\n"
    )


def _pairs_table(pairs) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs)
    return f'<table class="facts">{rows}</table>'


def _overview(facts: Facts) -> str:
    blocks = [f"<div><h3>{esc(heading)}</h3>{_pairs_table(pairs)}</div>" for heading, pairs in facts.overview]
    parts = [f'<div class="columns">{"".join(blocks)}</div>']
    if facts.skipped:
        items = "".join(f"<li>{esc(s.reason)}</li>" for s in facts.skipped)
        parts.append(f'<div class="warn"><strong>{len(facts.skipped)} run(s) left out</strong><ul>{items}</ul></div>')
    return "".join(parts)


def _configuration(facts: Facts) -> str:
    blocks = [
        # two columns only for a long list: CSS columns would split a short one down the middle
        f'<h3>{esc(heading)}</h3><div class="{"settings" if len(pairs) > 12 else ""}">{_pairs_table(pairs)}</div>'
        for heading, pairs in facts.configuration
    ]
    table = facts.runs.to_html(index=False, classes="data", border=0, na_rep="–")
    blocks.append(f'<details><summary>All {len(facts.runs)} runs</summary><div class="scroll">{table}</div></details>')
    return "".join(blocks)


def _table(number: int, table: PaperTable) -> str:
    """The table under its title and caption; a wide one in parts of whole maps, one below the other."""
    parts = table.split(MAX_COLUMNS)
    body = "".join(f'<div class="scroll">{to_html(part, caption=False)}</div>' for part in parts)
    return f'<div class="table-block"><h3>Table {number}. {esc(table.title)}</h3><p class="caption">{esc(table.caption)}</p>{body}</div>'


def _figure(number: int, figure: ReportFigure, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    width = round(figure.figure.get_figwidth() * CSS_PX_PER_INCH)
    return (
        f'<figure id="fig-{esc(figure.name)}"><img src="data:image/png;base64,{data}" width="{width}" alt="{esc(figure.title)}">'
        f"<figcaption><strong>Figure {number}. {esc(figure.title)}.</strong> {esc(figure.caption)}</figcaption></figure>"
    )


def _comparison_section(comparison: Comparison) -> str:
    rows = comparison.changes()
    parts = [f"<p>{esc(comparison.counts())}</p>", f"<p>{esc(COMPARISON_NOTE.format(alpha=comparison.alpha))}</p>"]
    if rows.empty:
        parts.append("<p>No cell changed significantly.</p>")
    else:
        table = rows.to_html(index=False, classes="data", border=0)
        parts.append(f'<div class="scroll">{_marked(table, (DROP, RISE))}</div>')
    if not comparison.gone.empty:
        parts.append(f'<div class="warn">Baseline cells without runs now:{comparison.gone.to_html(index=False, classes="data", border=0)}</div>')
    return "".join(parts)


def _marked(table: str, words: tuple[str, ...]) -> str:
    """Colour the cells that hold one of `words` (a status or a change) by a class of that name."""
    for word in words:
        table = table.replace(f"<td>{word}</td>", f'<td class="{word.replace(" ", "-")}">{word}</td>')
    return table


def _criteria_section(criteria: pd.DataFrame) -> str:
    parts = [f"<p>{esc(CRITERIA_NOTE)}</p>"]
    if criteria.empty:
        parts.append("<p>No robust configuration shares a map with vanilla: nothing to check.</p>")
    else:
        table = criteria_display(criteria).to_html(index=False, classes="data", border=0)
        parts.append(f'<div class="scroll">{_marked(table, (PASS, FAIL))}</div>')
    return "".join(parts)


def _claim(claim: Claim) -> str:
    verdict = f'<strong class="{esc(claim.verdict.replace(" ", "-"))}">{esc(claim.verdict)}</strong>'
    parts = [
        f'<div class="claim"><h3>({esc(claim.key)}) {esc(claim.statement)}</h3>',
        f"<p>Verdict: {verdict}. {esc(claim.evidence)}</p>",
        f'<p class="caption">Rule: {esc(claim.rule)}</p>',
    ]
    if claim.table is not None and not claim.table.empty:
        parts.append(f'<div class="scroll">{claim.table.to_html(index=False, classes="data", border=0)}</div>')
    return "".join(parts) + "</div>"
