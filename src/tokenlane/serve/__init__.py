"""`tokenlane serve`: the planner as a local web page."""

from tokenlane.serve.app import create_app

__all__ = ["create_app"]
