"""Route modules of the HTTP API and the web pages."""
