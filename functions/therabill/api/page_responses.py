"""The public API's answers to a browser: HTML with the pages' security headers, and a notice page
(what happened and what to do next) for a link that cannot be used."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types

from therabill.api import page_errors, pages
from therabill.api.deps import container


def security_headers() -> dict[str, str]:
    """Every public answer's headers: the pages' CSP (Stripe.js from its origin only), no caching,
    no referrer, no sniffing, no framing."""
    return {
        "Content-Security-Policy": pages.csp(container().settings.stripe_js_url),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def html(body: str, status: int = 200) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.TEXT_HTML, body=body, headers=security_headers()
    )


def notice(shown: page_errors.Notice) -> Response[str]:
    return html(
        pages.notice_page(
            title=shown.title,
            happened=shown.happened,
            next_step=shown.next_step,
            practice_name=shown.practice_name,
            email=shown.email,
        ),
        shown.status,
    )
