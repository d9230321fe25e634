"""Server-rendered story pages for people (Jinja2 templates, one stylesheet, no script)."""

from app.pages.routes import install

__all__ = ["install"]
