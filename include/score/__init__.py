"""The batch scoring pipeline: plan, chunked scoring with quarantine, atomic publish, records.

``pinning`` (versions resolved once) -> ``plan`` (footers, units) -> ``unit`` (chunked scoring
with ``checks`` and ``writer``) -> ``publish`` (``summary`` per date, atomic commit) ->
``record`` (MLflow runs) -> ``messages`` (the notification). ``payloads`` types what passes
between the tasks.
"""
