"""Helpers of the accessibility and narrow-screen browser tests (issue #14, docs/accessibility.md).

axe-core is vendored here for the tests only (tests/browser/vendor/, MPL-2.0): the tests inject
it into the page; the portal never serves it."""

import functools
from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
BLOCKING = ("serious", "critical")


@functools.cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_violations(page, *, impacts=BLOCKING, context=None) -> list[dict]:
    """axe-core's WCAG 2.0/2.1 A and AA rules on the page (or on `context`, a CSS selector):
    the violations of the given impacts as {id, impact, help, targets}."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source() + "\n;0")  # through DevTools: the page's CSP (script-src 'self') allows no tag
    result = page.evaluate(
        """async (context) => {
            const r = await axe.run(context || document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 160))}));
        }""", context)
    return [v for v in result if v["impact"] in impacts]


def horizontal_overflow(page) -> dict | None:
    """None when nothing makes the page scroll sideways, else the widths and the widest elements."""
    return page.evaluate(
        """() => {
            const vw = document.documentElement.clientWidth;
            const sw = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
            if (sw <= vw) return null;
            const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > vw + 1)
                .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string'
                     ? '.' + e.className.trim().split(/\\s+/).join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right));
            return {viewport: vw, scroll: sw, widest: wide.slice(0, 8)};
        }""")
