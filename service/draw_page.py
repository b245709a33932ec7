"""The draw-a-digit page, mounted beside the API at /draw/ (BentoML's ASGI mounting).

One self-contained HTML file: its script and styles are inline, so the page works offline and
needs no build step. It talks to the service through the public `/preview_image` route only, like
any other client, and is read from disk once, at import.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

PATH = "/draw"
PAGE = (Path(__file__).with_name("draw_page.html")).read_text(encoding="utf-8")
# The page's script, styles and images are all inline; nothing else may load.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


async def page(_request) -> HTMLResponse:
    return HTMLResponse(
        PAGE,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


def link_from_api_page(spec: dict) -> None:
    """Put a link to the page at the top of the OpenAPI description, which the service's root shows."""
    info = spec.setdefault("info", {})
    link = f"**[Draw a digit]({PATH.lstrip('/')}/)**: draw with a mouse, finger or pen and watch the model answer."
    info["description"] = f"{link}\n\n{info.get('description', '')}"


app = Starlette(routes=[Route("/", page, methods=["GET", "HEAD"])])
