"""Threat detection, alerts and responses, IP monitoring and the security console.

The second of the two parts the security plugin is composed of, not a plugin of its own. This
part declares nothing to the core: the modules of ``plugins/security/`` that the plugin template
names take its pieces into the plugin's one ``Plugin`` object:

- ``console.py`` and ``threats_api.py`` make the blueprints ``security_console`` and
  ``security_threats_api`` and give URLs to the views of ``views.py`` and ``api.py`` here;
- ``settings.py``, ``jobs.py`` and ``cli.py`` add ``THREAT_SETTINGS``, ``THREAT_JOBS`` and the
  commands of ``cli.py`` here to the plugin's ``SETTINGS``, ``JOBS`` and ``flask security`` group;
- ``hookimpls.py`` answers with the console's navigation entries, ``openapi.py`` with
  ``threat_openapi()`` of ``openapi.py`` here, and ``guard.py`` declares ``guard.THREAT_GUARDS``;
- ``hooks.py`` builds this part's state (``state.ThreatState``, the ``threats`` field of the
  plugin's ``SecurityState``), lets the audit writer flush its traffic counts and makes
  ``pipeline.process`` the audit log's next stage.
"""
