"""信息报送: each grid's monthly, quarterly and yearly report, built from the figures of
``patrol-report``, ``assess`` and ``incident list``, written as Excel and PDF, submitted upward in
locked editions, with each lower grid's status (已报送/未报送/逾期) for the upper grid."""
