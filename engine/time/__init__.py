"""Time: the business calendar of Hanoi's administrative procedures, working days, due dates, deadline states and
the occurrences of timer start events. Pure functions of their inputs: no clock reading, no database."""
