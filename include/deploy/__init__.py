"""The deploy pipeline: promotion on shadow evidence, freeze windows, health check, rollback.

* ``criteria``: is the challenger ready (``evaluate_promotion``)?
* ``freeze``: may a promotion happen today?
* ``evidence``: the challenger's shadow runs, live metrics and age in shadow.
* ``moves``: challenger -> champion, rollback, a reviewer's rejection.
* ``health``: does the champion reproduce its training scores?
* ``messages``: reasons, task messages and notifications; ``payloads``: what the steps return.
"""
