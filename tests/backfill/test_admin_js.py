"""The admin's scripts build DOM nodes with `textContent` / `createElement`, never by parsing
strings as HTML: data (error messages from the dashboard, district ids, URLs) cannot become
markup. A source check over our JavaScript and the inline scripts of our templates; the browser
test `test_hostile_text_in_a_job_stays_text` (tests/browser/test_admin_browser.py) shows it on
the job page."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Assigning or inserting HTML strings: every way a string becomes markup in the DOM.
HTML_SINKS = re.compile(
    r"\.(?:innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML\s*\(|document\.write(?:ln)?\s*\("
    r"|createContextualFragment\s*\(|\.html\s*\("
)


def our_scripts() -> dict[str, str]:
    sources = {
        str(path.relative_to(ROOT)): path.read_text()
        for app in ("backfill", "snapshots", "districts")
        for path in (ROOT / app).glob("static/**/*.js")
    }
    for template in (ROOT / "templates").glob("**/*.html"):
        inline = re.findall(
            r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", template.read_text(), re.S
        )
        if inline:
            sources[str(template.relative_to(ROOT))] = "\n".join(inline)
    return sources


def test_our_scripts_are_found():
    assert "backfill/static/backfill/job.js" in our_scripts()


def test_no_script_turns_strings_into_html():
    offenders = [
        f"{name}:{source[: match.start()].count(chr(10)) + 1}: {match.group(0)}"
        for name, source in our_scripts().items()
        for match in HTML_SINKS.finditer(source)
    ]
    assert offenders == []


def test_the_check_catches_an_html_sink():
    for line in (
        'el.innerHTML = "<b>" + data;',
        "row.innerHTML += cell;",
        "node.insertAdjacentHTML('beforeend', data)",
        "document.write(data)",
    ):
        assert HTML_SINKS.search(line), line
    assert not HTML_SINKS.search("node.textContent = data; el.replaceChildren(a);")
