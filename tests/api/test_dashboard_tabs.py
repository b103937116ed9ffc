"""The side panel's tab bar in a real headless Chromium at a laptop width (1280 px) and a
narrower one (1024 px), with the alarm count in the Alarms tab (the real one, then a
four-digit one that overflows the bar): every tab button is on one row, fully inside the
viewport (or reachable by scrolling the bar itself), not covered by anything and not clipped;
clicking the last tab shows its panel. The oracle is the browser's own layout (bounding
boxes)."""

from __future__ import annotations

from typing import Any

import pytest

from nettwin.api import Role
from tests.api.test_dashboard import _page, _telemetry, site, wait_js

__all__ = ["site"]  # the module's browser and server

# For each tab: scroll the bar (only the bar) so the button shows, then measure it against
# the viewport and the bar, and ask the browser what is drawn at its centre.
_MEASURE = """() => {
  const nav = document.querySelector('aside nav');
  const out = [];
  for (const b of nav.querySelectorAll('button')) {
    const before = nav.getBoundingClientRect();
    let r = b.getBoundingClientRect();
    if (r.left < before.left) nav.scrollLeft -= before.left - r.left;
    if (r.right > before.right) nav.scrollLeft += r.right - before.right;
    const n = nav.getBoundingClientRect();
    r = b.getBoundingClientRect();
    const top = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
    out.push({tab: b.dataset.tab, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
              navLeft: n.left, navRight: n.right, clipped: b.scrollWidth > b.clientWidth,
              onTop: !!top && b.contains(top)});
  }
  nav.scrollLeft = 0;
  return {tabs: out, vw: innerWidth, vh: innerHeight, height: nav.getBoundingClientRect().height};
}"""


def _check_reachable(page: Any, ids: list[str]) -> None:
    got = page.evaluate(_MEASURE)
    tabs = got["tabs"]
    assert [t["tab"] for t in tabs] == ids
    assert got["height"] < 40, got  # one row
    for t in tabs:
        assert t["left"] >= 0 and t["right"] <= got["vw"] + 0.5, t
        assert t["top"] >= 0 and t["bottom"] <= got["vh"], t
        assert t["navLeft"] - 0.5 <= t["left"] and t["right"] <= t["navRight"] + 0.5, t
        assert not t["clipped"], t
        assert t["onTop"], t


@pytest.mark.parametrize("width", [1280, 1024])
def test_every_tab_is_reachable_and_the_last_one_opens(site: dict[str, Any],
                                                       width: int) -> None:
    _telemetry(site, 2.5)  # overloaded: the Alarms tab carries its count, the widest bar
    page = _page(site, Role.PLANNER)
    page.set_viewport_size({"width": width, "height": 720})
    page.click("[data-tab=alarms]")
    wait_js(page, "document.querySelector('#alarm-count').textContent.length > 0")
    page.screenshot(path=str(site["shots"] / f"tabs-{width}.png"))
    ids = page.eval_on_selector_all("aside nav button", "bs => bs.map(b => b.dataset.tab)")
    assert len(ids) >= 10
    _check_reachable(page, ids)
    # a network with a thousand open alarms: the bar no longer fits and scrolls instead
    page.evaluate("document.querySelector('#alarm-count').textContent = '(1234)'")
    assert page.eval_on_selector("aside nav", "n => n.scrollWidth > n.clientWidth")
    _check_reachable(page, ids)
    # the last tab (scrolled into view by the browser if need be) shows its panel alone
    last = ids[-1]
    page.click(f"aside nav button[data-tab={last}]")
    wait_js(page, f"!document.querySelector('#panel-{last}').hidden")
    shown = page.eval_on_selector_all(
        "aside .panel", "ps => ps.filter(p => !p.hidden && p.getBoundingClientRect().height > 0)"
                        ".map(p => p.id)")
    assert shown == [f"panel-{last}"]
    assert page.eval_on_selector(f"aside nav button[data-tab={last}]",
                                 "b => b.classList.contains('active')")
    assert not page.errors
    page.close()
