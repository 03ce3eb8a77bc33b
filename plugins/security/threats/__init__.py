"""Threat detection, alerts and responses, IP monitoring and the security console.

The second of the two parts the security plugin is composed of, not a plugin of its own. It
declares nothing itself: the plugin's modules that the template names take this part's pieces
into the one ``Plugin`` of ``plugins/security/__init__.py``:

- blueprints: ``security_console`` in ``plugins/security/console.py`` and ``security_threats_api``
  in ``plugins/security/threats_api.py`` give URLs to the views of ``views.py`` and ``api.py``;
- ``settings.SETTINGS``, ``jobs.JOBS`` and the ``cli.cli`` group of the plugin hold this part's
  ``THREAT_SETTINGS``, ``THREAT_JOBS`` and ``COMMANDS``;
- ``hookimpls``: the console's navigation entries, and ``openapi.py`` adds ``threat_openapi()``;
- ``guard.GUARDS`` holds ``guard.THREAT_GUARDS`` (order 10);
- ``hooks.setup`` builds this part's state (``state.ThreatState``), lets the audit writer flush
  its traffic counts, and makes ``pipeline.process`` the audit log's next stage.
"""
