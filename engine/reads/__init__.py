"""Reads: the inbox, tasks, instances, history, versions and their diff, case views, the dashboard.

SQL over rows in one read-only transaction each; never a workflow load.
"""
