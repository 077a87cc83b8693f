"""The one HTML shape of Therabill's emails: a title, paragraphs (already escaped) and an optional
link, then paragraphs after the link (e.g. who the sender is and how to reach them). Each capability
writes its own messages with it."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def html_page(
    title: str, paragraphs: list[str], link: tuple[str, str] | None = None, after: Sequence[str] = ()
) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    if link:
        body += f'<p><a href="{escape(link[1])}">{escape(link[0])}</a></p>'
    body += "".join(f"<p>{p}</p>" for p in after)
    return (
        f'<!doctype html><html><body style="font-family:sans-serif">'
        f"<h2>{escape(title)}</h2>{body}</body></html>"
    )
