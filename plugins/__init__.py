"""gridgeo's built-in plugins (installed as the ``gridgeo_plugins`` package)."""
