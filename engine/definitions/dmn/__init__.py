"""DMN decision tables: compiling and evaluating them as SpiffWorkflow runs them (tables), a cell as the Python
SpiffWorkflow builds from it (cells), and FEEL written where Python runs (feel). Their lint is in
engine.definitions.lint."""
