"""The field app (手机端, issue 16): patrols and reports sent from phones, offline first, and
residents' reports from the signboard.

* :mod:`gis.field.core`: the pure core: the app's fixes as a track, client ids, 查询码 and the
  proof-of-work challenge of public reports (signed with a key kept in the data folder);
* :mod:`gis.field.service`: the services of an account (device sign-in, 我的, patrols, reports),
  for the HTTP API at ``/api/field/v1`` (``api/field.py``);
* :mod:`gis.field.public`: the services without an account (the place a signboard names, residents'
  reports, a case by its 查询码);
* :mod:`gis.field.inspections`: 对象巡查 records sent from phones.
"""
