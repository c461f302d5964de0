"""Map features by collection, one query function each (as pygeoapi's providers).

Each collection (:mod:`gis.features.catalog`) has one query function that the OGC API
(``api/ogc.py``), the overview map (:func:`gis.overview.load_map_data`) and the exports share:
``query_<collection>(session, query, *, operator=False)`` returns a :class:`~gis.features.base.FeaturePage`
(features with plain properties, and how many matched). Who asks is the session's actor: an
account (its data scope applies to incidents and tracks), or None: an anonymous caller of the
API, who sees public fields only, and under ``RIVERGRID_READ_LOGIN`` only what the public
disclosure page shows. ``operator=True`` is the trusted reader without a caller (the command
line's operator, the pages' cached map data, which the pages limit to the account's scope).
"""
