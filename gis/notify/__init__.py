"""Notifications (消息提醒), escalation and the runner that does both on time (issue 18).

Pure core: :mod:`~gis.notify.core` (events, recipients' channels, quiet hours, idempotency keys,
message formats, escalation rules). Services: :mod:`~gis.notify.events` (what one pass finds in
the store and for whom), :mod:`~gis.notify.delivery` (the delivery log: enqueue, send, retry),
:mod:`~gis.notify.messages` (in-app messages: list, count, mark read), :mod:`~gis.notify.lock`
(one runner at a time) and :mod:`~gis.notify.runner` (one pass: ``gis notify run``).
Senders of the channels (SMTP, HTTP) are :mod:`~gis.notify.channels`.
"""
