"""Camunda 7 files as Camunda Modeler saves them: the dialect rewritten at deploy, JUEL, generated task forms."""
