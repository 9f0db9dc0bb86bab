"""``icalpub build``: the site written as a static tree (``export``), rendered in several
processes first (``prerender``)."""
