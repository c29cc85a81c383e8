"""Event widgets: the live feed, the history search and the publisher."""
