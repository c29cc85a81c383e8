"""Widgets every feature uses: a JSON view and a sparkline."""
