"""Load tests and rollback drills (docs/loadtest.md).

``plan.py`` says what to send (pattern, rate, replayed requests); ``worker.py`` sends it from a
child process with Locust (imported there only: it monkey-patches the process with gevent);
``runner.py`` starts the workers, sums what they measured and samples the target's CPU and
memory (``target.py``); ``report.py`` draws the HTML report and its plots; ``drill.py`` runs a
rollback and a roll-forward under that load.
"""
