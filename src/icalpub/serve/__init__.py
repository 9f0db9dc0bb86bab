"""Serving a site: the Flask app, HTTP answers, live reload, a built tree, gunicorn settings."""
