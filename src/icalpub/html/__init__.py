"""Model -> HTML pages (Jinja2): view models, subscribe and add-to-calendar links, templates
and the stylesheet and script they load."""
