"""Server-rendered pages: Jinja2 templates and local static files (no CDN)."""
