"""The 待办 inbox (issue 18): what each account must do now.

* :mod:`gis.inbox.core`: the pure core (plain rows → items, who a case waits on, sorting);
* :mod:`gis.inbox.service`: one account's inbox from the store (:func:`~gis.inbox.service.inbox`,
  :func:`~gis.inbox.service.count_for`), for the page, the command line and later surfaces.
"""
