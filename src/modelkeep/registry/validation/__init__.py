"""Validation gates: a policy file's checks run on a version, the verdict stored with it.

policy.py reads the YAML policy (expressions.py parses its metric expressions); subjects.py
resolves the versions a policy names; checks.py answers the recorded checks; measure.py runs
versions in child processes (runner.py) for budgets and the replay (replay.py); gate.py puts
it together and stores the report (results.py); protection.py guards protected aliases.
"""
