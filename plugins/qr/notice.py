"""The page a plate's code lands on when the item's collection is not public.

Sealed mine adits are not published (collections/mine_tunnels/collection.yml), yet a
resident who scans an adit plate must land somewhere: a safety notice naming the plate,
with nothing of the adit's place or state, and a sign-in hint for staff.
"""

from __future__ import annotations

from html import escape

from gridgeo_plugins.qr.targets import QrKind

_WHAT = {"mine_tunnels": ("封闭矿洞", "sealed mine adit")}

_PAGE = """<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title_zh} {code}</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 2em auto; padding: 0 1em">
<h1>{title_zh} {code}</h1>
<p><strong>危险，禁止进入。</strong>发现人员进出、洞口破损或复采迹象，请拨打 12345 热线或 110 报告，
并说明编号 {code}。</p>
<p lang="en"><strong>Danger: keep out.</strong> This plate marks a {title_en}. To report people
going in, a broken seal or signs of mining, call the 12345 hotline or 110 and quote {code}.</p>
<p><small>巡查人员请使用巡查应用扫码登记。Inspectors: record the visit with the patrol app
(signed in).</small></p>
</body></html>
"""


def notice_page(kind: QrKind, code: str) -> str:
    """A public notice for a plate whose item only staff may read."""
    title_zh, title_en = _WHAT.get(kind.collection, ("编号牌", "numbered plate"))
    return _PAGE.format(title_zh=escape(title_zh), title_en=escape(title_en), code=escape(code))
