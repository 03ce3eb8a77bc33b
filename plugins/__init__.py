"""Bundled plugins: one package each, exposing ``plugin = Plugin(...)`` (see app.plugin)."""
