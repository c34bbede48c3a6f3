"""A plugin whose dependency is missing: importing it fails."""

raise ImportError("No module named 'shiny_dependency'")
