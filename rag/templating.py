"""HTML pages from the Jinja2 templates in ``rag/templates/``: the one environment, which escapes every value
that is not already markup."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from rag.text import MARKER


class _Compact(PackageLoader):
    """HTML templates are indented for reading, but a line break and the indentation after it are not part of
    the page: pages come out on one line as they did before templates (so keep each Jinja tag, and each run
    of text, on one line). Stylesheets are kept as written."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool] | None]:
        source, filename, uptodate = super().get_source(environment, template)
        if template.endswith(".html"):
            source = re.sub(r"\n[ \t]*", "", source)
        return source, filename, uptodate


def escape(text: str) -> Markup:
    """Text made safe inside HTML, attribute values included (``html.escape``)."""
    return Markup(html.escape(text))


def _finalize(value: Any) -> Any:
    # Text gets html.escape's entities (&#x27;, &quot;), which our pages have always used, instead of
    # MarkupSafe's (&#39;, &#34;); markup passes as it is, and autoescape still escapes everything else.
    return escape(value) if isinstance(value, str) and not isinstance(value, Markup) else value


def _cite_links(text: str) -> Markup:
    """Escaped text whose citation markers ``[n]`` link to the quoted source ``#s<n>``."""
    link = r'<sup><a class=cite href="#s\1" data-key="\1" aria-label="source \1">[\1]</a></sup>'
    return Markup(MARKER.sub(link, html.escape(text)))


def _http_url(url: str) -> bool:
    """A link target a page may hold: http(s) only, never ``javascript:`` or ``data:``."""
    return url.startswith(("http://", "https://"))


_ENV = Environment(
    loader=_Compact("rag", "templates"),
    autoescape=True,
    finalize=_finalize,
    keep_trailing_newline=True,
    undefined=StrictUndefined,
)
_ENV.tests["http_url"] = _http_url
_ENV.filters["cite_links"] = _cite_links


def render(template: str, **context: Any) -> str:
    """``rag/templates/<template>`` rendered with ``context``."""
    return _ENV.get_template(template).render(**context)
