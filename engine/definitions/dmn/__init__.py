"""DMN decision tables: compiling and evaluating them as SpiffWorkflow runs them, and the lint of their cells."""
