"""The coordinate-descent engine."""
