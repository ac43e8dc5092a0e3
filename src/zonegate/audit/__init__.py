"""The tamper-evident audit log: one hash-chained record per request, allowed or denied."""
