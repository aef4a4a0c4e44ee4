"""Process forms: JSON Schema (draft 2020-12) files ``*.form.json`` deployed with the BPMN (files: parsed as untrusted
input and compiled, with the format checker of formats), and the validation of submitted variables against them
(validation), with one Vietnamese and English message per wrong field (messages)."""
