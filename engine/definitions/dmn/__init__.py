"""DMN decision tables: compiling and evaluating them as SpiffWorkflow runs them (tables), a cell as the Python
SpiffWorkflow builds from it (cells), FEEL written where Python runs (feel), and
FEEL tables from Camunda Modeler translated into that Python at deploy (feel_python). Their lint is in
engine.definitions.lint."""
